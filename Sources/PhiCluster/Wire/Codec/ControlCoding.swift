import CPhiWire

// Control messages between Swift values and protobuf-c structs.

extension CArena {
    func configure(_ value: Configure) -> UnsafeMutablePointer<Phi__Wire__V1__Configure> {
        message(phi__wire__v1__configure__init) { c in
            c.next_hop = string(value.nextHop)
            c.coordinator = string(value.coordinator)
            c.wire_dtype = Phi__Wire__V1__DType(rawValue: value.wireDType.rawValue)
            c.session_context_tokens = UInt32(clamping: value.sessionContextTokens)
            c.max_sessions = UInt32(clamping: value.maxSessions)
            c.layers = layerRange(value.layers)
            c.kv_format = Phi__Wire__V1__KVFormat(rawValue: value.kvFormat.rawValue)
            c.ring_id = value.ringID
        }
    }

    func ack(_ value: Ack) -> UnsafeMutablePointer<Phi__Wire__V1__Ack> {
        message(phi__wire__v1__ack__init) { c in
            c.session_id = value.sessionID
            c.sequence = value.sequence
            c.queue_depth = UInt32(clamping: value.queueDepth)
        }
    }

    func error(_ value: ErrorReport) -> UnsafeMutablePointer<Phi__Wire__V1__Error> {
        message(phi__wire__v1__error__init) { c in
            c.code = Phi__Wire__V1__ErrorCode(rawValue: value.code.rawValue)
            c.message = string(value.message)
            c.origin = string(value.origin)
            c.peer = string(value.peer)
            c.field = string(value.field)
            c.session_id = value.sessionID
            c.sequence = value.sequence
        }
    }

    func resetSession(_ value: ResetSession) -> UnsafeMutablePointer<Phi__Wire__V1__ResetSession> {
        message(phi__wire__v1__reset_session__init) { c in
            c.session_id = value.sessionID
            c.all_sessions = value.allSessions ? 1 : 0
        }
    }

    func trimKV(_ value: TrimKV) -> UnsafeMutablePointer<Phi__Wire__V1__TrimKV> {
        message(phi__wire__v1__trim_kv__init) { c in
            c.session_id = value.sessionID
            c.keep_tokens = UInt32(clamping: value.keepTokens)
        }
    }

    func statsRequest(reset: Bool) -> UnsafeMutablePointer<Phi__Wire__V1__StatsRequest> {
        message(phi__wire__v1__stats_request__init) { c in c.reset = reset ? 1 : 0 }
    }

    func statsReply(_ value: StatsReply) -> UnsafeMutablePointer<Phi__Wire__V1__StatsReply> {
        message(phi__wire__v1__stats_reply__init) { c in
            c.layers = layerRange(value.layers)
            c.frames = value.frames
            c.tokens = value.tokens
            c.compute_ns = value.computeTime.wireNanoseconds
            c.queue_wait_ns = value.queueWaitTime.wireNanoseconds
            c.send_ns = value.sendTime.wireNanoseconds
            c.queue_depth = UInt32(clamping: value.queueDepth)
            c.max_queue_depth = UInt32(clamping: value.maxQueueDepth)
            c.sessions = UInt32(clamping: value.sessions)
            c.kv_tokens = value.kvTokens
            c.kv_bytes = value.kvBytes
            c.weight_bytes = value.weightBytes
            c.resident_bytes = value.residentBytes
            c.uptime_ns = value.uptime.wireNanoseconds
            c.errors = value.errors
        }
    }

    func healthRequest() -> UnsafeMutablePointer<Phi__Wire__V1__HealthRequest> {
        message(phi__wire__v1__health_request__init) { _ in }
    }

    func healthReply(_ value: HealthReply) -> UnsafeMutablePointer<Phi__Wire__V1__HealthReply> {
        message(phi__wire__v1__health_reply__init) { c in
            c.state = Phi__Wire__V1__NodeState(rawValue: value.state.rawValue)
            c.layers = layerRange(value.layers)
            c.queue_depth = UInt32(clamping: value.queueDepth)
            c.sessions = UInt32(clamping: value.sessions)
            c.uptime_ns = value.uptime.wireNanoseconds
            c.detail = string(value.detail)
        }
    }

    func loadInfoRequest() -> UnsafeMutablePointer<Phi__Wire__V1__LoadInfoRequest> {
        message(phi__wire__v1__load_info_request__init) { _ in }
    }

    func loadInfo(_ value: LoadInfo) -> UnsafeMutablePointer<Phi__Wire__V1__LoadInfo> {
        message(phi__wire__v1__load_info__init) { c in
            c.state = Phi__Wire__V1__NodeState(rawValue: value.state.rawValue)
            c.layers = layerRange(value.layers)
            c.weight_format = Phi__Wire__V1__WeightFormat(rawValue: value.weightFormat.rawValue)
            c.weight_bytes = value.weightBytes
            c.kv_bytes_per_token = value.kvBytesPerToken
            c.free_memory_bytes = value.freeMemoryBytes
            c.total_memory_bytes = value.totalMemoryBytes
        }
    }

    func loadLayers(_ value: LoadLayers) -> UnsafeMutablePointer<Phi__Wire__V1__LoadLayers> {
        message(phi__wire__v1__load_layers__init) { c in
            c.layers = layerRange(value.layers)
            c.weight_format = Phi__Wire__V1__WeightFormat(rawValue: value.weightFormat.rawValue)
            c.model = fingerprint(value.model)
        }
    }

    func shutdown(reason: String) -> UnsafeMutablePointer<Phi__Wire__V1__Shutdown> {
        message(phi__wire__v1__shutdown__init) { c in c.reason = string(reason) }
    }
}

extension FieldReader {
    func configure(_ c: Phi__Wire__V1__Configure) throws(WireError) -> Configure {
        let nextHop = try string(c.next_hop, "Configure.next_hop")
        guard !nextHop.isEmpty else { throw .missingField(peer: peer, field: "Configure.next_hop") }
        return Configure(
            nextHop: nextHop,
            coordinator: try string(c.coordinator, "Configure.coordinator"),
            wireDType: try enumValue(c.wire_dtype.rawValue, "Configure.wire_dtype"),
            sessionContextTokens: Int(c.session_context_tokens),
            maxSessions: Int(c.max_sessions),
            layers: try layers(c.layers, "Configure.layers", allowEmpty: false),
            // Unset (a coordinator that predates the field) means the exact default.
            kvFormat: c.kv_format.rawValue == 0 ? .f32 : try enumValue(c.kv_format.rawValue, "Configure.kv_format"),
            ringID: c.ring_id)
    }

    func ack(_ c: Phi__Wire__V1__Ack) -> Ack {
        Ack(sessionID: c.session_id, sequence: c.sequence, queueDepth: Int(c.queue_depth))
    }

    func error(_ c: Phi__Wire__V1__Error) throws(WireError) -> ErrorReport {
        // An unknown code from a newer peer still carries a readable message: keep it as internal.
        let raw = UInt32(truncatingIfNeeded: c.code.rawValue)
        return ErrorReport(
            code: WireErrorCode(rawValue: raw) ?? .internal,
            message: try string(c.message, "Error.message"),
            origin: try string(c.origin, "Error.origin"),
            peer: try string(c.peer, "Error.peer"),
            field: try string(c.field, "Error.field"),
            sessionID: c.session_id,
            sequence: c.sequence)
    }

    func resetSession(_ c: Phi__Wire__V1__ResetSession) -> ResetSession {
        ResetSession(sessionID: c.session_id, allSessions: c.all_sessions != 0)
    }

    func trimKV(_ c: Phi__Wire__V1__TrimKV) -> TrimKV {
        TrimKV(sessionID: c.session_id, keepTokens: Int(c.keep_tokens))
    }

    func statsReply(_ c: Phi__Wire__V1__StatsReply) throws(WireError) -> StatsReply {
        StatsReply(
            layers: try layers(c.layers, "StatsReply.layers", allowEmpty: true),
            frames: c.frames, tokens: c.tokens,
            computeTime: duration(c.compute_ns), queueWaitTime: duration(c.queue_wait_ns), sendTime: duration(c.send_ns),
            queueDepth: Int(c.queue_depth), maxQueueDepth: Int(c.max_queue_depth), sessions: Int(c.sessions),
            kvTokens: c.kv_tokens, kvBytes: c.kv_bytes, weightBytes: c.weight_bytes, residentBytes: c.resident_bytes,
            uptime: duration(c.uptime_ns), errors: c.errors)
    }

    func healthReply(_ c: Phi__Wire__V1__HealthReply) throws(WireError) -> HealthReply {
        HealthReply(
            state: try enumValue(c.state.rawValue, "HealthReply.state"),
            layers: try layers(c.layers, "HealthReply.layers", allowEmpty: true),
            queueDepth: Int(c.queue_depth), sessions: Int(c.sessions), uptime: duration(c.uptime_ns),
            detail: try string(c.detail, "HealthReply.detail"))
    }

    func loadInfo(_ c: Phi__Wire__V1__LoadInfo, _ field: String) throws(WireError) -> LoadInfo {
        LoadInfo(
            state: try enumValue(c.state.rawValue, "\(field).state"),
            layers: try layers(c.layers, "\(field).layers", allowEmpty: true),
            weightFormat: try enumValue(c.weight_format.rawValue, "\(field).weight_format"),
            weightBytes: c.weight_bytes, kvBytesPerToken: c.kv_bytes_per_token,
            freeMemoryBytes: c.free_memory_bytes, totalMemoryBytes: c.total_memory_bytes)
    }

    func loadLayers(_ c: Phi__Wire__V1__LoadLayers) throws(WireError) -> LoadLayers {
        LoadLayers(
            layers: try layers(c.layers, "LoadLayers.layers", allowEmpty: false),
            weightFormat: try enumValue(c.weight_format.rawValue, "LoadLayers.weight_format"),
            model: try fingerprint(required(c.model, "LoadLayers.model"), "LoadLayers.model"))
    }
}
