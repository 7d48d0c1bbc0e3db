import CNNG
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small helpers around nng's C API: error text, durations, messages and peer addresses.
enum NNG {
    static func errorText(_ status: Int32) -> String {
        guard let text = nng_strerror(status) else { return "nng error \(status)" }
        return String(cString: text)
    }

    static func status(_ error: nng_errno_enum) -> Int32 { Int32(error.rawValue) }

    /// `duration` in nng's milliseconds, at least 1 so that a short timeout never means "none".
    static func milliseconds(_ duration: Duration) -> nng_duration {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return nng_duration(clamping: max(1, milliseconds))
    }

    /// A new nng message holding `bytes`, or nil when nng cannot allocate it.
    static func message(_ bytes: [UInt8]) -> OpaquePointer? {
        var message: OpaquePointer?
        guard nng_msg_alloc(&message, bytes.count) == 0, let message else { return nil }
        if !bytes.isEmpty, let body = nng_msg_body(message) {
            bytes.withUnsafeBytes { body.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(body), byteCount: $0.count) }
        }
        return message
    }

    /// The body of `message` (valid until the message is freed).
    static func body(_ message: OpaquePointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: nng_msg_body(message), count: nng_msg_len(message))
    }

    /// The remote address of the connection `message` arrived on, as "tcp://host:port".
    static func remoteAddress(of message: OpaquePointer) -> String {
        remoteAddress(of: nng_msg_get_pipe(message))
    }

    /// The remote address of a connection, as "tcp://host:port" (or "connection 12").
    static func remoteAddress(of pipe: nng_pipe) -> String {
        var address = nng_sockaddr()
        guard nng_pipe_get_addr(pipe, NNG_OPT_REMADDR, &address) == 0 else {
            return "connection \(nng_pipe_id(pipe))"
        }
        return format(address) ?? "connection \(nng_pipe_id(pipe))"
    }

    static func format(_ address: nng_sockaddr) -> String? {
        switch Int32(address.s_family) {
        case Int32(NNG_AF_INET.rawValue):
            var ip = in_addr(s_addr: address.s_in.sa_addr)
            guard let text = ntop(AF_INET, &ip, length: Int(INET_ADDRSTRLEN)) else { return nil }
            return "tcp://\(text):\(UInt16(bigEndian: address.s_in.sa_port))"
        case Int32(NNG_AF_INET6.rawValue):
            var bytes = address.s_in6.sa_addr
            guard let text = ntop(AF_INET6, &bytes, length: Int(INET6_ADDRSTRLEN)) else { return nil }
            return "tcp://[\(text)]:\(UInt16(bigEndian: address.s_in6.sa_port))"
        default:
            return nil
        }
    }

    private static func ntop<T>(_ family: Int32, _ address: inout T, length: Int) -> String? {
        var buffer = [CChar](repeating: 0, count: length + 1)
        let ok = withUnsafePointer(to: &address) { pointer in
            inet_ntop(family, pointer, &buffer, socklen_t(length)) != nil
        }
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    /// "2 s", "250 ms", "1.5 s": how errors state a timeout.
    static func describe(_ duration: Duration) -> String {
        let milliseconds = Int(NNG.milliseconds(duration))
        if milliseconds < 1000 { return "\(milliseconds) ms" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000) s" }
        return "\(Double(milliseconds) / 1000) s"
    }
}
