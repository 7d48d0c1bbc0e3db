import Testing
import PhiTestSupport
@testable import PhiTokenizer

@Suite("Phi-4-mini encodings match Hugging Face on tokenizer_golden.jsonl")
struct TokenizerGoldenTests {
    @Test("the golden has its 300 lines")
    func goldenIsComplete() {
        #expect(TokenizerGoldenLine.all.count == 300)
    }

    @Test("encode gives ids_hf", arguments: TokenizerGoldenLine.all)
    func encodeMatches(_ line: TokenizerGoldenLine) throws {
        #expect(try TestTokenizers.phi4().encode(line.text) == line.idsHF)
    }

    @Test("encodeOrdinary gives ids_ordinary", arguments: TokenizerGoldenLine.all)
    func encodeOrdinaryMatches(_ line: TokenizerGoldenLine) throws {
        #expect(try TestTokenizers.phi4().encodeOrdinary(line.text) == line.idsOrdinary)
    }

    @Test("decode gives decoded and decoded_ordinary", arguments: TokenizerGoldenLine.all)
    func decodeMatches(_ line: TokenizerGoldenLine) throws {
        let tokenizer = try TestTokenizers.phi4()
        #expect(try tokenizer.decode(line.idsHF) == line.decoded)
        #expect(try tokenizer.decode(line.idsOrdinary) == line.decodedOrdinary)
    }

    @Test("streaming decode token by token equals the whole decode", arguments: TokenizerGoldenLine.all)
    func streamingMatches(_ line: TokenizerGoldenLine) throws {
        let tokenizer = try TestTokenizers.phi4()
        for ids in [line.idsHF, line.idsOrdinary] {
            var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
            var text = ""
            for id in ids { text += try detokenizer.feed(id) }
            text += detokenizer.finish()
            #expect(text == (try tokenizer.decode(ids)))
        }
    }
}
