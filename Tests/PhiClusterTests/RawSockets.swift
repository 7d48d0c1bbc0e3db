#if canImport(Glibc)
import Glibc
#endif
import PhiTestSupport

// Plain TCP sockets for tests of what nng meets on the network besides nng peers.

/// A TCP server on loopback that accepts connections and never sends a byte.
final class SilentTCPServer: Sendable {
    let descriptor: Int32
    let port: UInt16

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard descriptor >= 0, bound == 0, listen(descriptor, 8) == 0 else { throw SilentServerError() }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        port = UInt16(bigEndian: address.sin_port)
    }

    func close() { _ = Glibc.close(descriptor) }
}

struct SilentServerError: Error {}

/// Connects to a loopback port with a plain TCP socket, writes bytes and hangs up.
enum RawTCPClient {
    static func send(_ bytes: [UInt8], to port: UInt16) throws {
        let descriptor = try LoopbackTCP.connect(port: port)
        defer { _ = Glibc.close(descriptor) }
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}
