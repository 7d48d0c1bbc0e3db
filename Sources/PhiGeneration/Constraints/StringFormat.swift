/// The `format` values of JSON Schema draft 2020-12. Those with a pattern here are enforced by
/// generating strings that match it: each pattern describes a subset of the format's valid
/// strings (upper-case `T` and `Z`, days a month always has, full IPv6 groups, at most four
/// hostname labels), so what is generated is valid under any checker. The other defined formats
/// are refused; names the specification does not define (`int32`, `byte`, OpenAPI's and vendors'
/// own) are annotations, as the specification makes unknown formats.
enum StringFormat {
    static let defined: Set<String> = [
        "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname", "ipv4", "ipv6",
        "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template", "json-pointer",
        "relative-json-pointer", "regex",
    ]

    static func isDefined(_ name: String) -> Bool { defined.contains(name) }

    private static let date = #"[1-9]\d{3}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"#
    private static let time = #"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)"#
    private static let durationTime = #"T(?:\d+H(?:\d+M(?:\d+S)?)?|\d+M(?:\d+S)?|\d+S)"#
    private static let label = #"[A-Za-z0-9](?:[A-Za-z0-9-]{0,59}[A-Za-z0-9])?"#
    private static let lastLabel = #"[A-Za-z](?:[A-Za-z0-9-]{0,59}[A-Za-z0-9])?"#
    private static var hostname: String { "(?:\(label)\\.){0,3}\(lastLabel)" }
    private static let octet = #"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"#
    private static let pchar = #"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})"#

    /// The anchored ECMA-262 pattern strings of format `name` are generated from, or nil.
    static func pattern(for name: String) -> String? {
        switch name {
        case "date": "^\(date)$"
        case "time": "^\(time)$"
        case "date-time": "^\(date)T\(time)$"
        case "duration":
            #"^P(?:(?:\d+Y(?:\d+M(?:\d+D)?)?|\d+M(?:\d+D)?|\d+D)(?:"# + durationTime + ")?|" + durationTime + #"|\d+W)$"#
        case "uuid": #"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"#
        case "email": #"^[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@"# + hostname + "$"
        case "hostname": "^\(hostname)$"
        case "ipv4": #"^"# + octet + #"(?:\."# + octet + #"){3}$"#
        case "ipv6": #"^[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){7}$"#
        case "uri":
            #"^[A-Za-z][A-Za-z0-9+.-]*:(?://(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*(?::\d{1,5})?(?:/"# + pchar
                + #"*)*|/?(?:"# + pchar + "+(?:/" + pchar + "*)*)?)(?:\\?(?:" + pchar + "|[/?])*)?(?:#(?:" + pchar + "|[/?])*)?$"
        default: nil
        }
    }
}
