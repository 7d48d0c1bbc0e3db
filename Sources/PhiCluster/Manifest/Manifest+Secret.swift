import Foundation

extension Manifest {
    /// Where `phi-coord up` keeps the secret of a manifest that names none: beside the manifest,
    /// `cluster/tiny-2workers.toml` → `cluster/tiny-2workers.secret`.
    public var generatedSecretFile: URL { file.deletingPathExtension().appendingPathExtension("secret") }

    /// Whether `up` starts every node of this cluster itself (all of them `local = true`).
    public var isAllLocal: Bool { (workers + spares).allSatisfy(\.isLocal) }

    /// What `phi-coord up` does about authentication: the manifest as it is when it names a secret
    /// file or says `insecure = true`; else with `generatedSecretFile`, which is made (32 random
    /// bytes, mode 0600) when missing and `up` starts the whole cluster. A manifest whose workers
    /// run elsewhere keeps no secret unless that file exists: they were started without it.
    /// Returns the file made, if one was.
    public func securedForLaunch() throws(SecretError) -> (manifest: Manifest, createdSecretFile: URL?) {
        guard secretFile == nil, !isInsecure else { return (self, nil) }
        var secured = self
        let path = generatedSecretFile.path
        if FileManager.default.fileExists(atPath: path) {
            secured.secretFile = generatedSecretFile
            return (secured, nil)
        }
        guard isAllLocal else { return (self, nil) }
        try SharedSecret.createFile(at: path)
        secured.secretFile = generatedSecretFile
        return (secured, generatedSecretFile)
    }

    /// The manifest with `generatedSecretFile` when it names no secret, is not `insecure`, and that
    /// file exists (an earlier `phi-coord up` made it): for commands that use workers already running.
    public var withExistingGeneratedSecret: Manifest {
        guard secretFile == nil, !isInsecure, FileManager.default.fileExists(atPath: generatedSecretFile.path) else { return self }
        var secured = self
        secured.secretFile = generatedSecretFile
        return secured
    }
}
