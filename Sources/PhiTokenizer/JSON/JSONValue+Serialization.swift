extension JSONValue {
    /// How `serialized(_:)` separates items and keys.
    public enum SerializationStyle: Sendable {
        /// Python's `json.dumps(value, ensure_ascii=False)`: `", "` and `": "`. What Phi-4-mini saw
        /// in training for tool lists and tool calls.
        case python
        /// No spaces: `","` and `":"`.
        case compact
    }

    /// The value as JSON text: keys in their order, non-ASCII characters as themselves, control
    /// characters escaped as Python escapes them (`\n`, `\u001b`), numbers as Python prints them.
    public func serialized(_ style: SerializationStyle = .python) -> String {
        var output = ""
        write(to: &output, style: style)
        return output
    }

    private func write(to output: inout String, style: SerializationStyle) {
        switch self {
        case .null: output += "null"
        case let .bool(value): output += value ? "true" : "false"
        case let .integer(value): output += String(value)
        case let .double(value): output += Self.pythonRepr(value)
        case let .string(value): Self.writeString(value, to: &output)
        case let .array(values):
            output += "["
            for (index, value) in values.enumerated() {
                if index > 0 { output += style == .python ? ", " : "," }
                value.write(to: &output, style: style)
            }
            output += "]"
        case let .object(object):
            output += "{"
            for (index, member) in object.members.enumerated() {
                if index > 0 { output += style == .python ? ", " : "," }
                Self.writeString(member.key, to: &output)
                output += style == .python ? ": " : ":"
                member.value.write(to: &output, style: style)
            }
            output += "}"
        }
    }

    private static func writeString(_ string: String, to output: inout String) {
        output += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }

    /// Python's `repr(float)`: the shortest digits that round-trip (which Swift's `description`
    /// also produces), in positional notation for 1e-4 <= |x| < 1e16 with at least one fractional
    /// digit, otherwise as `d.ddde+XX`. Non-finite values as Python's json writes them.
    static func pythonRepr(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        // Decompose Swift's shortest representation into digits and a decimal exponent.
        let text = "\(abs(value))"
        var mantissa = text
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = String(text[..<e])
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let integerPart = String(parts[0])
        let fractionPart = parts.count > 1 ? String(parts[1]) : ""
        var digits = integerPart + fractionPart
        var pointPosition = integerPart.count + exponent  // digits before the decimal point
        while digits.hasPrefix("0") && digits.count > 1 {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        let decimalExponent = pointPosition - 1  // value = d.ddd × 10^decimalExponent
        let sign = value < 0 ? "-" : ""
        if decimalExponent < -4 || decimalExponent >= 16 {
            let head = String(digits.prefix(1))
            let tail = String(digits.dropFirst())
            let exponentText = String(abs(decimalExponent))
            let paddedExponent = exponentText.count < 2 ? "0" + exponentText : exponentText
            return sign + head + (tail.isEmpty ? "" : "." + tail) + "e" + (decimalExponent < 0 ? "-" : "+")
                + paddedExponent
        }
        if pointPosition <= 0 {
            return sign + "0." + String(repeating: "0", count: -pointPosition) + digits
        }
        if pointPosition >= digits.count {
            return sign + digits + String(repeating: "0", count: pointPosition - digits.count) + ".0"
        }
        let index = digits.index(digits.startIndex, offsetBy: pointPosition)
        return sign + digits[..<index] + "." + digits[index...]
    }
}
