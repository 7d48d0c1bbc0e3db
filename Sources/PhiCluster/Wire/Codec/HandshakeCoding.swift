import CPhiWire

// Hello, HelloReply, Authenticate and their parts, between Swift values and protobuf-c structs.

/// Nonces are 32 random bytes, proofs and tags HMAC-SHA256 outputs, secret ids 8 bytes.
enum HandshakeSizes {
    static let nonce = 32
    static let proof = 32
    static let secretID = 8
    static let digest = 32
}

extension CArena {
    func hello(_ hello: Hello) -> UnsafeMutablePointer<Phi__Wire__V1__Hello> {
        message(phi__wire__v1__hello__init) { c in
            c.software_version = string(hello.softwareVersion)
            c.node_name = string(hello.nodeName)
            c.client_nonce = bytes(hello.clientNonce)
            c.auth_mode = Phi__Wire__V1__AuthMode(rawValue: hello.authMode.rawValue)
            c.secret_id = bytes(hello.secretID)
            c.model = fingerprint(hello.model)
        }
    }

    func helloReply(_ reply: HelloReply) -> UnsafeMutablePointer<Phi__Wire__V1__HelloReply> {
        message(phi__wire__v1__hello_reply__init) { c in
            c.software_version = string(reply.softwareVersion)
            c.node_name = string(reply.nodeName)
            c.server_nonce = bytes(reply.serverNonce)
            c.auth_mode = Phi__Wire__V1__AuthMode(rawValue: reply.authMode.rawValue)
            c.secret_id = bytes(reply.secretID)
            c.server_proof = bytes(reply.serverProof)
            c.model = fingerprint(reply.model)
            c.layers = layerRange(reply.layers)
            c.capabilities = capabilities(reply.capabilities)
            c.load = loadInfo(reply.load)
        }
    }

    func authenticate(_ value: Authenticate) -> UnsafeMutablePointer<Phi__Wire__V1__Authenticate> {
        message(phi__wire__v1__authenticate__init) { c in
            c.client_nonce = bytes(value.clientNonce)
            c.server_nonce = bytes(value.serverNonce)
            c.client_proof = bytes(value.clientProof)
            c.run_nonce = bytes(value.runNonce)
        }
    }

    func capabilities(_ value: Capabilities) -> UnsafeMutablePointer<Phi__Wire__V1__Capabilities> {
        message(phi__wire__v1__capabilities__init) { c in
            let dtypes = array(value.wireDTypes.map { Phi__Wire__V1__DType(rawValue: $0.rawValue) })
            c.n_wire_dtypes = dtypes.count
            c.wire_dtypes = dtypes.pointer
            c.weight_format = Phi__Wire__V1__WeightFormat(rawValue: value.weightFormat.rawValue)
            let kvFormats = array(value.kvFormats.map { Phi__Wire__V1__KVFormat(rawValue: $0.rawValue) })
            c.n_kv_formats = kvFormats.count
            c.kv_formats = kvFormats.pointer
            c.max_tokens_per_frame = UInt32(clamping: value.maxTokensPerFrame)
            c.max_context_tokens = UInt32(clamping: value.maxContextTokens)
            c.max_sessions = UInt32(clamping: value.maxSessions)
            c.max_message_bytes = UInt64(clamping: value.maxMessageBytes)
            c.threads = UInt32(clamping: value.threads)
        }
    }

    func fingerprint(_ value: ModelFingerprint) -> UnsafeMutablePointer<Phi__Wire__V1__ModelFingerprint> {
        message(phi__wire__v1__model_fingerprint__init) { c in
            c.model_name = string(value.modelName)
            c.config_sha256 = bytes(value.configSHA256)
            c.slice_sha256 = bytes(value.sliceSHA256)
            c.layer_count = UInt32(clamping: value.layerCount)
            c.hidden_size = UInt32(clamping: value.hiddenSize)
            c.vocab_size = UInt32(clamping: value.vocabSize)
        }
    }

    func layerRange(_ range: Range<Int>) -> UnsafeMutablePointer<Phi__Wire__V1__LayerRange> {
        message(phi__wire__v1__layer_range__init) { c in
            c.begin = UInt32(clamping: range.lowerBound)
            c.end = UInt32(clamping: range.upperBound)
        }
    }
}

extension FieldReader {
    func hello(_ c: Phi__Wire__V1__Hello) throws(WireError) -> Hello {
        let authMode: AuthMode = try enumValue(c.auth_mode.rawValue, "Hello.auth_mode")
        return Hello(
            softwareVersion: try string(c.software_version, "Hello.software_version"),
            nodeName: try string(c.node_name, "Hello.node_name"),
            clientNonce: try bytes(c.client_nonce, "Hello.client_nonce", allowedCounts: [HandshakeSizes.nonce]),
            authMode: authMode,
            secretID: try bytes(c.secret_id, "Hello.secret_id",
                                allowedCounts: [authMode == .none ? 0 : HandshakeSizes.secretID]),
            model: try fingerprint(required(c.model, "Hello.model"), "Hello.model"))
    }

    func helloReply(_ c: Phi__Wire__V1__HelloReply) throws(WireError) -> HelloReply {
        let authMode: AuthMode = try enumValue(c.auth_mode.rawValue, "HelloReply.auth_mode")
        let secretBytes = authMode == .none ? 0 : HandshakeSizes.secretID
        let proofBytes = authMode == .none ? 0 : HandshakeSizes.proof
        return HelloReply(
            softwareVersion: try string(c.software_version, "HelloReply.software_version"),
            nodeName: try string(c.node_name, "HelloReply.node_name"),
            serverNonce: try bytes(c.server_nonce, "HelloReply.server_nonce", allowedCounts: [HandshakeSizes.nonce]),
            authMode: authMode,
            secretID: try bytes(c.secret_id, "HelloReply.secret_id", allowedCounts: [secretBytes]),
            serverProof: try bytes(c.server_proof, "HelloReply.server_proof", allowedCounts: [proofBytes]),
            model: try fingerprint(required(c.model, "HelloReply.model"), "HelloReply.model"),
            layers: try layers(c.layers, "HelloReply.layers", allowEmpty: true),
            capabilities: try capabilities(required(c.capabilities, "HelloReply.capabilities")),
            load: try loadInfo(required(c.load, "HelloReply.load"), "HelloReply.load"))
    }

    func authenticate(_ c: Phi__Wire__V1__Authenticate) throws(WireError) -> Authenticate {
        Authenticate(
            clientNonce: try bytes(c.client_nonce, "Authenticate.client_nonce", allowedCounts: [HandshakeSizes.nonce]),
            serverNonce: try bytes(c.server_nonce, "Authenticate.server_nonce", allowedCounts: [HandshakeSizes.nonce]),
            clientProof: try bytes(c.client_proof, "Authenticate.client_proof", allowedCounts: [0, HandshakeSizes.proof]),
            runNonce: try bytes(c.run_nonce, "Authenticate.run_nonce", allowedCounts: [HandshakeSizes.nonce]))
    }

    func capabilities(_ c: Phi__Wire__V1__Capabilities) throws(WireError) -> Capabilities {
        let field = "HelloReply.capabilities"
        var dtypes: [WireDType] = []
        for index in 0 ..< (try count(c.n_wire_dtypes, "\(field).wire_dtypes (count)", limit: 16)) {
            guard let pointer = c.wire_dtypes else { break }
            dtypes.append(try enumValue(pointer[index].rawValue, "\(field).wire_dtypes[\(index)]"))
        }
        var kvFormats: [WireKVFormat] = []
        for index in 0 ..< (try count(c.n_kv_formats, "\(field).kv_formats (count)", limit: 16)) {
            guard let pointer = c.kv_formats else { break }
            kvFormats.append(try enumValue(pointer[index].rawValue, "\(field).kv_formats[\(index)]"))
        }
        return Capabilities(
            wireDTypes: dtypes,
            weightFormat: try enumValue(c.weight_format.rawValue, "\(field).weight_format"),
            kvFormats: kvFormats,
            maxTokensPerFrame: Int(c.max_tokens_per_frame),
            maxContextTokens: Int(c.max_context_tokens),
            maxSessions: Int(c.max_sessions),
            maxMessageBytes: Int(clamping: c.max_message_bytes),
            threads: Int(c.threads))
    }

    func fingerprint(_ c: Phi__Wire__V1__ModelFingerprint, _ field: String) throws(WireError) -> ModelFingerprint {
        ModelFingerprint(
            modelName: try string(c.model_name, "\(field).model_name"),
            configSHA256: try bytes(c.config_sha256, "\(field).config_sha256", allowedCounts: [0, HandshakeSizes.digest]),
            sliceSHA256: try bytes(c.slice_sha256, "\(field).slice_sha256", allowedCounts: [0, HandshakeSizes.digest]),
            layerCount: try count(c.layer_count, "\(field).layer_count", limit: limits.maxLayers),
            hiddenSize: try count(c.hidden_size, "\(field).hidden_size", limit: limits.maxHiddenSize),
            vocabSize: try count(c.vocab_size, "\(field).vocab_size", limit: limits.maxVocabSize))
    }
}
