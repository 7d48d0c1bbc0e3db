/// Why the coordinator could not admit a worker. Each case says what differs, on which side.
public enum HandshakeError: Error, Equatable, CustomStringConvertible {
    /// The worker could not be reached, timed out, or sent an undecodable reply.
    case transport(TransportError)
    /// The worker refused, saying why (authentication mode, secret, model, protocol).
    case refused(peer: String, report: ErrorReport)
    /// The worker answered with another message than the handshake expects.
    case unexpectedReply(peer: String, expected: String, reply: String)
    /// One side has a secret file, the other none.
    case authModeMismatch(peer: String, ours: AuthMode, theirs: AuthMode)
    /// Both have secrets, and they differ (named by their ids).
    case secretMismatch(peer: String, ourSecretID: String, theirSecretID: String)
    /// The worker's proof does not verify under the coordinator's secret.
    case badProof(peer: String)
    /// The worker's model is not the coordinator's.
    case modelMismatch(peer: String, differences: [String])
    /// The worker's slice of layers holds other tensors than the coordinator's checkpoint.
    case sliceMismatch(peer: String, layers: Range<Int>, difference: String)
    /// `WireAuthenticator.startRun()` was not called before the handshake.
    case noRun

    public var description: String {
        switch self {
        case let .transport(error): "\(error)"
        case let .refused(peer, report): "\(peer) refused the handshake: \(report.message)"
        case let .unexpectedReply(peer, expected, reply): "\(peer) answered with \(reply), expected \(expected)"
        case let .authModeMismatch(peer, ours, theirs):
            "authentication mode differs: \(peer) has \(theirs), this coordinator has \(ours)"
        case let .secretMismatch(peer, ours, theirs):
            "the secret files differ: \(peer) has secret id \(theirs), this coordinator has \(ours)"
        case let .badProof(peer): "\(peer) failed to prove the shared secret: the secret files differ"
        case let .modelMismatch(peer, differences):
            "\(peer) serves another model: " + differences.joined(separator: "; ")
        case let .sliceMismatch(peer, layers, difference):
            "\(peer) holds other tensors for layers \(layers.lowerBound)..<\(layers.upperBound): \(difference)"
        case .noRun: "the coordinator has no run nonce: call startRun() before the handshake"
        }
    }

    /// The error code the coordinator reports back to the worker.
    var code: WireErrorCode {
        switch self {
        case .authModeMismatch: .authModeMismatch
        case .secretMismatch, .badProof: .authenticationFailed
        case .modelMismatch, .sliceMismatch: .modelMismatch
        case .transport, .refused, .unexpectedReply, .noRun: .internal
        }
    }
}
