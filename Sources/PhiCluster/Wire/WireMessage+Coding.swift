extension WireMessage {
    /// The message as one nng message: an envelope of the current protocol version, tagged with
    /// `authenticator`'s run key when it has one (nil: a node without a secret).
    public func encode(sealedBy authenticator: WireAuthenticator? = nil) -> [UInt8] {
        (authenticator ?? WireAuthenticator(secret: nil)).seal(self)
    }

    /// Decodes and validates one nng message from `peer`. Throws a `WireError` naming the peer and
    /// the field at fault: wrong protocol major, missing or bad tag, malformed bytes, sizes that
    /// disagree with the frame's shape or exceed `limits`, unknown enum values, missing fields.
    /// `authenticator` nil: a node without a secret.
    public static func decode(_ bytes: [UInt8], from peer: String, limits: WireLimits = .default,
                              authenticator: WireAuthenticator? = nil) throws(WireError) -> WireMessage {
        let opener = authenticator ?? WireAuthenticator(secret: nil)
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(WireError) in try opener.open(buffer, from: peer, limits: limits).message }
        }
        return try result.get()
    }
}
