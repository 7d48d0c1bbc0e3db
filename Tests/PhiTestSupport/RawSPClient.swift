#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A hand-made nng req0 peer over a plain TCP socket, for tests that act as a hostile client: it
/// speaks just enough of nng's TCP transport (the 8-byte SP header, then messages framed by a
/// 64-bit big-endian length and a 32-bit request id) to open connections nng counts, send
/// requests without reading replies, or send part of a message and stop.
public final class RawSPClient: @unchecked Sendable {
    /// `@unchecked Sendable`: a socket descriptor; tests use each client from one task at a time.
    public let descriptor: Int32

    /// nng's protocol number for req0 (a rep0 listener accepts only req0 peers).
    public static let req0: UInt16 = 0x30

    /// Connects to 127.0.0.1:`port` and exchanges SP headers. Throws when the connection or the
    /// header exchange fails.
    public init(port: UInt16, timeout: Duration = .seconds(2)) throws {
        descriptor = try LoopbackTCP.connect(port: port)
        let header: [UInt8] = [0, 0x53, 0x50, 0, UInt8(Self.req0 >> 8), UInt8(Self.req0 & 0xff), 0, 0]
        guard write(header) else { throw FixtureError.malformed("cannot send the SP header to port \(port)") }
        guard let answer = read(count: 8, timeout: timeout), answer.prefix(4) == [0, 0x53, 0x50, 0] else {
            throw FixtureError.malformed("port \(port) did not answer the SP header")
        }
    }

    deinit { Glibc.close(descriptor) }

    /// Sends one request (`body` after a request id); false when the connection is gone.
    @discardableResult
    public func sendRequest(_ body: [UInt8], id: UInt32 = 1) -> Bool {
        let requestID = (id | 0x8000_0000).bigEndian
        var frame = withUnsafeBytes(of: UInt64(4 + body.count).bigEndian, Array.init)
        frame += withUnsafeBytes(of: requestID, Array.init)
        return write(frame + body)
    }

    /// Announces a message of `announcedBytes` (a request id and body) and sends only `sentBytes`
    /// of it, so that nng holds the partial message; false when the connection closed first.
    @discardableResult
    public func sendPartial(announcedBytes: Int, sentBytes: Int) -> Bool {
        var frame = withUnsafeBytes(of: UInt64(announcedBytes).bigEndian, Array.init)
        frame += withUnsafeBytes(of: UInt32(0x8000_0001).bigEndian, Array.init)
        guard write(frame) else { return false }
        let chunk = [UInt8](repeating: 0x5a, count: 1 << 20)
        var left = sentBytes - 4
        while left > 0 {
            let count = min(left, chunk.count)
            guard write(Array(chunk.prefix(count))) else { return false }
            left -= count
        }
        return true
    }

    /// The body of the next reply (after its request id), or nil on timeout or a closed connection.
    public func readReply(timeout: Duration) -> [UInt8]? {
        guard let length = read(count: 8, timeout: timeout) else { return nil }
        let count = length.reduce(0) { $0 << 8 | Int($1) }
        guard count >= 4, count < 1 << 26, let payload = read(count: count, timeout: timeout) else { return nil }
        return Array(payload.dropFirst(4))
    }

    /// Whether the peer closes the connection within `timeout` (replies that arrive are skipped).
    public func isClosed(within timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            var descriptorPoll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let left = deadline - ContinuousClock.now
            let milliseconds = Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            let ready = poll(&descriptorPoll, 1, milliseconds)
            if ready <= 0 { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 { return true }
            if count < 0 && errno != EINTR && errno != EAGAIN { return true }
        }
        return false
    }

    public func close() { shutdown(descriptor, Int32(SHUT_RDWR)) }

    private func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return send(descriptor, base + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    private func read(count: Int, timeout: Duration) -> [UInt8]? {
        var result = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: count)
        let deadline = ContinuousClock.now + timeout
        while result.count < count {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return nil }
            var descriptorPoll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            guard poll(&descriptorPoll, 1, milliseconds) > 0 else { continue }
            let received = recv(descriptor, &buffer, count - result.count, 0)
            if received < 0 && errno == EINTR { continue }
            guard received > 0 else { return nil }
            result += buffer.prefix(received)
        }
        return result
    }
}

/// Resident memory of a process (VmRSS in /proc/PID/status), in bytes.
public func residentBytes(ofProcess pid: Int32) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return nil }
    return kilobytes * 1024
}

/// Plain TCP sockets to loopback, for tests that play peers nng does not expect.
public enum LoopbackTCP {
    /// A socket connected to 127.0.0.1:`port`; the caller closes it. Throws naming the port and
    /// the system's reason.
    public static func connect(port: UInt16) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw FixtureError.malformed("no socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw FixtureError.malformed("cannot connect to port \(port): \(reason)")
        }
        return descriptor
    }
}
