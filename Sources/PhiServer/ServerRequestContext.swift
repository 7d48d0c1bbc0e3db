import Hummingbird
import NIOCore

/// Hummingbird's basic request context plus the request's connection, so a generation can be
/// cancelled the moment its client goes away (streamed or not), not only when a write fails.
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's connection; its `closeFuture` completes when the client disconnects.
    let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
