#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Small helpers over nng's tcp:// addresses.
enum NetworkAddress {
    /// "tcp://10.0.0.12:5555" → "10.0.0.12".
    static func host(of address: String) -> String? {
        guard let range = address.range(of: "://") else { return nil }
        let rest = address[range.upperBound...]
        guard let colon = rest.lastIndex(of: ":") else { return String(rest) }
        return String(rest[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    }

    /// The local IPv4 address the system would use to reach `host` (a connected UDP socket sends
    /// nothing, but picks the route and source address).
    static func localAddress(toward host: String) -> String? {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, "9", &hints, &result) == 0, let info = result else { return nil }
        defer { freeaddrinfo(result) }
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard Glibc.connect(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else { return nil }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let status = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard status == 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &local.sin_addr, &buffer, socklen_t(INET_ADDRSTRLEN)) != nil else { return nil }
        return String(cString: buffer)
    }
}
