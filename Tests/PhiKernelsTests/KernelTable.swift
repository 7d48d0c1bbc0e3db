import CPhiKernels

/// One kernel table this CPU runs, named so test arguments print well. The pointer refers to a
/// static const table inside CPhiKernels, so looking it up again by name is always valid.
struct KernelTable: Sendable, CustomStringConvertible {
    let name: String
    var description: String { name }

    var table: UnsafePointer<phi_kernels> {
        get throws {
            let match = KernelTable.pointers().first { String(cString: $0.pointee.name) == name }
            guard let match else { throw KernelTestError.missingTable(name) }
            return match
        }
    }

    static let scalar = KernelTable(name: "scalar")
    /// Every table this CPU runs, scalar first (on x86_64 with AVX2: scalar, avx2).
    static let available: [KernelTable] = pointers().map { KernelTable(name: String(cString: $0.pointee.name)) }

    private static func pointers() -> [UnsafePointer<phi_kernels>] {
        var tables = [UnsafePointer<phi_kernels>?](repeating: nil, count: 8)
        let count = Int(phi_kernels_available(&tables, Int32(tables.count)))
        return tables.prefix(min(count, tables.count)).compactMap { $0 }
    }
}

enum KernelTestError: Error, CustomStringConvertible {
    case missingTable(String)
    case missingEntry(table: String, entry: String)

    var description: String {
        switch self {
        case let .missingTable(name): "no kernel table named '\(name)' on this CPU"
        case let .missingEntry(table, entry): "kernel table '\(table)' has no '\(entry)' entry"
        }
    }
}

/// The weight formats, as a Swift enum so tests can take them as arguments.
enum Format: String, CaseIterable, Sendable, CustomStringConvertible {
    case f32, f16, bf16, q8_0, q4_0
    var description: String { rawValue }

    var kernel: phi_format {
        switch self {
        case .f32: PHI_FORMAT_F32
        case .f16: PHI_FORMAT_F16
        case .bf16: PHI_FORMAT_BF16
        case .q8_0: PHI_FORMAT_Q8_0
        case .q4_0: PHI_FORMAT_Q4_0
        }
    }

    var isQuantized: Bool { self == .q8_0 || self == .q4_0 }
    func rowBytes(_ columns: Int) -> Int { phi_row_bytes(kernel, Int64(columns)) }
    /// Activations: q8_0 rows for the quantized formats, f32 rows otherwise.
    func activationRowBytes(_ columns: Int) -> Int { isQuantized ? phi_row_bytes(PHI_FORMAT_Q8_0, Int64(columns)) : 4 * columns }
}
