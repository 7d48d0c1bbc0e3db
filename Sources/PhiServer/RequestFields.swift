import PhiTokenizer

/// Reads a request's JSON fields, throwing a 400 that names the field and what was wrong.
/// Unknown fields are ignored, as OpenAI-compatible servers do; known fields of the wrong type
/// are refused.
struct RequestFields {
    let object: JSONObject

    init(body: [UInt8]) throws(APIError) {
        let value: JSONValue
        do {
            value = try body.withUnsafeBufferPointer { buffer in try JSONValue.parse(buffer) }
        } catch {
            throw .badRequest("the request body is not valid JSON: \(error)")
        }
        guard let object = value.objectValue else {
            throw .badRequest("the request body is a JSON \(value.typeName), expected an object")
        }
        self.object = object
    }

    subscript(key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    private func wrongType(_ key: String, _ expected: String, _ value: JSONValue) -> APIError {
        .badRequest("'\(key)' must be \(expected), not \(value.typeName) \(value.serialized().prefix(80))", param: key,
                    code: "invalid_type")
    }

    func string(_ key: String) throws(APIError) -> String? {
        guard let value = self[key] else { return nil }
        guard let text = value.stringValue else { throw wrongType(key, "a string", value) }
        return text
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let value = self[key] else { return nil }
        guard let flag = value.boolValue else { throw wrongType(key, "a boolean", value) }
        return flag
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let value = self[key] else { return nil }
        guard case .integer = value, let number = value.intValue else { throw wrongType(key, "an integer", value) }
        guard range.contains(number) else {
            throw .badRequest("'\(key)' is \(number), outside \(range.lowerBound)...\(range.upperBound)", param: key,
                              code: "invalid_value")
        }
        return number
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws(APIError) -> Double? {
        guard let value = self[key] else { return nil }
        guard let number = value.doubleValue else { throw wrongType(key, "a number", value) }
        guard range.contains(number) else {
            throw .badRequest("'\(key)' is \(number), outside \(range.lowerBound)...\(range.upperBound)", param: key,
                              code: "invalid_value")
        }
        return number
    }

    /// `stop`: a string or an array of up to 4 strings.
    func stopStrings() throws(APIError) -> [String] {
        guard let value = self["stop"] else { return [] }
        if let text = value.stringValue { return [text] }
        guard let list = value.arrayValue, list.count <= 4,
              case let strings = list.compactMap(\.stringValue), strings.count == list.count else {
            throw wrongType("stop", "a string or an array of at most 4 strings", value)
        }
        return strings
    }

    /// `stream_options.include_usage`.
    func includesUsage() throws(APIError) -> Bool {
        guard let options = self["stream_options"] else { return false }
        guard let object = options.objectValue else { throw wrongType("stream_options", "an object", options) }
        guard let flag = object["include_usage"], !flag.isNull else { return false }
        guard let include = flag.boolValue else { throw wrongType("stream_options.include_usage", "a boolean", flag) }
        return include
    }
}
