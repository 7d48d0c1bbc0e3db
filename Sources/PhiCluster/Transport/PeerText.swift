/// Text a peer chose (an error's message, a node name), made safe to put in a log line: control
/// characters, line breaks, ANSI escape sequences and bidirectional overrides are shown as Swift
/// escapes (`\n`, `\u{1b}`), so that a peer can neither forge log lines nor restyle a terminal,
/// and the text is cut to `maxCharacters`.
public enum PeerText {
    /// Characters of peer text a log line shows before cutting it.
    public static let maxCharacters = 200

    public static func escaped(_ text: String, maxCharacters: Int = PeerText.maxCharacters) -> String {
        var result = ""
        var shown = 0
        var scalars = text.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            guard shown < maxCharacters else {
                var rest = 1
                while scalars.next() != nil { rest += 1 }
                result += "…(\(rest) more characters)"
                break
            }
            result += escape(scalar)
            shown += 1
        }
        return result
    }

    private static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case "\\": return "\\\\"
        default:
            return isUnsafe(scalar) ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
        }
    }

    /// C0 and C1 controls, DEL, line and paragraph separators, and the bidirectional controls that
    /// reorder what a terminal shows (U+200E-200F, U+202A-202E, U+2066-2069).
    private static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00 ... 0x1f, 0x7f ... 0x9f, 0x2028, 0x2029, 0x200e, 0x200f, 0x202a ... 0x202e, 0x2066 ... 0x2069, 0xfeff: true
        default: false
        }
    }
}
