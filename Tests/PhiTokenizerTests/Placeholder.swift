import Foundation
import Testing
import PhiTestSupport

@Test("the fixtures are in place")
func fixturesPresent() {
    #expect(FileManager.default.fileExists(atPath: Fixtures.tinyModel.path))
}
