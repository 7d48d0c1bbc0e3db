import Foundation

/// Memory figures of this machine and process, from /proc (Linux); nil where unavailable.
public enum SystemMemory {
    /// `MemAvailable` of /proc/meminfo: what new allocations can take without swapping.
    public static var availableBytes: Int? { meminfo("MemAvailable") }
    public static var totalBytes: Int? { meminfo("MemTotal") }
    /// Resident set of this process now (`VmRSS`).
    public static var residentBytes: Int? { status("VmRSS") }
    /// Peak resident set of this process (`VmHWM`).
    public static var peakResidentBytes: Int? { status("VmHWM") }

    /// Resident set of process `pid` now.
    public static func residentBytes(pid: Int32) -> Int? { status("VmRSS", file: "/proc/\(pid)/status") }

    /// Peak resident set of process `pid`, for benchmarks of several processes.
    public static func peakResidentBytes(pid: Int32) -> Int? { status("VmHWM", file: "/proc/\(pid)/status") }

    private static func meminfo(_ key: String) -> Int? { kilobytes(key, file: "/proc/meminfo") }
    private static func status(_ key: String, file: String = "/proc/self/status") -> Int? { kilobytes(key, file: file) }

    private static func kilobytes(_ key: String, file: String) -> Int? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            let digits = line.dropFirst(key.count + 1).split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) }
            return digits.map { $0 * 1024 }
        }
        return nil
    }
}
