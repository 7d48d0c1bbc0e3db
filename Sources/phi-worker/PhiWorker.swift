import ArgumentParser
import PhiCluster

@main
struct PhiWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phi-worker",
        abstract: "Runs a slice of Phi-4-mini's layers for a phi-cluster coordinator.",
        version: PhiClusterVersion.current)

    func run() async throws {
        print("phi-worker \(PhiClusterVersion.current)")
    }
}
