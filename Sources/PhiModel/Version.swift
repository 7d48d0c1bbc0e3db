/// The release of phi-cluster this build belongs to, shown by `--version` of both executables.
public enum PhiClusterVersion {
    public static let current = "0.1.0"
}
