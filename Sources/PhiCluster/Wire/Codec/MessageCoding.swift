import CPhiWire

// WireMessage <-> the serialized `Message` that an Envelope's body carries.

extension WireMessage {
    /// The message packed as a `phi.wire.v1.Message`.
    func packedBody() -> [UInt8] {
        let arena = CArena()
        var message = Phi__Wire__V1__Message()
        phi__wire__v1__message__init(&message)
        switch self {
        case let .hello(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_HELLO
            message.hello = arena.hello(value)
        case let .helloReply(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_HELLO_REPLY
            message.hello_reply = arena.helloReply(value)
        case let .authenticate(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_AUTHENTICATE
            message.authenticate = arena.authenticate(value)
        case let .configure(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_CONFIGURE
            message.configure = arena.configure(value)
        case let .activation(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_ACTIVATION
            message.activation = arena.activation(value)
        case let .logits(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_LOGITS
            message.logits = arena.logits(value)
        case let .ack(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_ACK
            message.ack = arena.ack(value)
        case let .error(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_ERROR
            message.error = arena.error(value)
        case let .resetSession(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_RESET_SESSION
            message.reset_session = arena.resetSession(value)
        case let .trimKV(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_TRIM_KV
            message.trim_kv = arena.trimKV(value)
        case let .statsRequest(reset):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_STATS_REQUEST
            message.stats_request = arena.statsRequest(reset: reset)
        case let .statsReply(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_STATS_REPLY
            message.stats_reply = arena.statsReply(value)
        case .healthRequest:
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_HEALTH_REQUEST
            message.health_request = arena.healthRequest()
        case let .healthReply(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_HEALTH_REPLY
            message.health_reply = arena.healthReply(value)
        case .loadInfoRequest:
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_LOAD_INFO_REQUEST
            message.load_info_request = arena.loadInfoRequest()
        case let .loadInfo(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_LOAD_INFO
            message.load_info = arena.loadInfo(value)
        case let .loadLayers(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_LOAD_LAYERS
            message.load_layers = arena.loadLayers(value)
        case let .shutdown(reason):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_SHUTDOWN
            message.shutdown = arena.shutdown(reason: reason)
        case let .saveKV(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_SAVE_KV
            message.save_kv = arena.saveKV(value)
        case let .kvSaved(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_KV_SAVED
            message.kv_saved = arena.kvSaved(value)
        case let .loadKV(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_LOAD_KV
            message.load_kv = arena.loadKV(value)
        case let .kvLoaded(value):
            message.kind_case = PHI__WIRE__V1__MESSAGE__KIND_KV_LOADED
            message.kv_loaded = arena.kvLoaded(value)
        }
        let size = phi__wire__v1__message__get_packed_size(&message)
        let packed = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            initialized = phi__wire__v1__message__pack(&message, buffer.baseAddress)
        }
        withExtendedLifetime(arena) {}
        return packed
    }

    /// Unpacks and validates a `phi.wire.v1.Message`.
    static func unpackBody(_ body: UnsafeRawBufferPointer, reader: FieldReader) throws(WireError) -> WireMessage {
        let data = body.baseAddress?.assumingMemoryBound(to: UInt8.self)
        guard let unpacked = phi__wire__v1__message__unpack(nil, body.count, data) else {
            throw .malformed(peer: reader.peer, what: "phi.wire.v1.Message", byteCount: body.count)
        }
        defer { phi__wire__v1__message__free_unpacked(unpacked, nil) }
        let message = unpacked.pointee
        switch message.kind_case {
        case PHI__WIRE__V1__MESSAGE__KIND_HELLO:
            return .hello(try reader.hello(reader.required(message.hello, "Message.hello")))
        case PHI__WIRE__V1__MESSAGE__KIND_HELLO_REPLY:
            return .helloReply(try reader.helloReply(reader.required(message.hello_reply, "Message.hello_reply")))
        case PHI__WIRE__V1__MESSAGE__KIND_AUTHENTICATE:
            return .authenticate(try reader.authenticate(reader.required(message.authenticate, "Message.authenticate")))
        case PHI__WIRE__V1__MESSAGE__KIND_CONFIGURE:
            return .configure(try reader.configure(reader.required(message.configure, "Message.configure")))
        case PHI__WIRE__V1__MESSAGE__KIND_ACTIVATION:
            return .activation(try reader.activation(reader.required(message.activation, "Message.activation")))
        case PHI__WIRE__V1__MESSAGE__KIND_LOGITS:
            return .logits(try reader.logits(reader.required(message.logits, "Message.logits")))
        case PHI__WIRE__V1__MESSAGE__KIND_ACK:
            return .ack(reader.ack(try reader.required(message.ack, "Message.ack")))
        case PHI__WIRE__V1__MESSAGE__KIND_ERROR:
            return .error(try reader.error(reader.required(message.error, "Message.error")))
        case PHI__WIRE__V1__MESSAGE__KIND_RESET_SESSION:
            return .resetSession(reader.resetSession(try reader.required(message.reset_session, "Message.reset_session")))
        case PHI__WIRE__V1__MESSAGE__KIND_TRIM_KV:
            return .trimKV(reader.trimKV(try reader.required(message.trim_kv, "Message.trim_kv")))
        case PHI__WIRE__V1__MESSAGE__KIND_STATS_REQUEST:
            return .statsRequest(reset: try reader.required(message.stats_request, "Message.stats_request").reset != 0)
        case PHI__WIRE__V1__MESSAGE__KIND_STATS_REPLY:
            return .statsReply(try reader.statsReply(reader.required(message.stats_reply, "Message.stats_reply")))
        case PHI__WIRE__V1__MESSAGE__KIND_HEALTH_REQUEST:
            return .healthRequest
        case PHI__WIRE__V1__MESSAGE__KIND_HEALTH_REPLY:
            return .healthReply(try reader.healthReply(reader.required(message.health_reply, "Message.health_reply")))
        case PHI__WIRE__V1__MESSAGE__KIND_LOAD_INFO_REQUEST:
            return .loadInfoRequest
        case PHI__WIRE__V1__MESSAGE__KIND_LOAD_INFO:
            return .loadInfo(try reader.loadInfo(reader.required(message.load_info, "Message.load_info"), "LoadInfo"))
        case PHI__WIRE__V1__MESSAGE__KIND_LOAD_LAYERS:
            return .loadLayers(try reader.loadLayers(reader.required(message.load_layers, "Message.load_layers")))
        case PHI__WIRE__V1__MESSAGE__KIND_SHUTDOWN:
            let shutdown = try reader.required(message.shutdown, "Message.shutdown")
            return .shutdown(reason: try reader.string(shutdown.reason, "Shutdown.reason"))
        case PHI__WIRE__V1__MESSAGE__KIND_SAVE_KV:
            return .saveKV(try reader.saveKV(reader.required(message.save_kv, "Message.save_kv")))
        case PHI__WIRE__V1__MESSAGE__KIND_KV_SAVED:
            return .kvSaved(try reader.kvSaved(reader.required(message.kv_saved, "Message.kv_saved")))
        case PHI__WIRE__V1__MESSAGE__KIND_LOAD_KV:
            return .loadKV(try reader.loadKV(reader.required(message.load_kv, "Message.load_kv")))
        case PHI__WIRE__V1__MESSAGE__KIND_KV_LOADED:
            return .kvLoaded(reader.kvLoaded(try reader.required(message.kv_loaded, "Message.kv_loaded")))
        default:
            // Not set, or a kind from a newer minor version that this node cannot serve.
            throw .missingField(peer: reader.peer, field: "Message.kind (a message this version knows)")
        }
    }
}
