/// How waiting work is gathered into one batched pass, the same on a worker (queued frames) and in
/// `LocalPipeline` (queued chunks): the first waiting item, then later ones of other sessions
/// while the pass stays within `maxItems` items and `max(maxItems, the first item's tokens)`
/// tokens. No item is larger than the coordinator's chunk, so a pass needs no more scratch than
/// the memory planner counts for one chunk. A session's items keep their order: once one of its
/// items stays queued, so do its later ones.
enum PassBatch {
    /// Sessions in one pass at most.
    static let maxItems = 16

    /// Removes the next pass's items from `queue` and returns them, in queue order.
    static func take<Item, Session: Hashable>(from queue: inout [Item], session: (Item) -> Session,
                                              tokens: (Item) -> Int) -> [Item] {
        var batch: [Item] = []
        var rest: [Item] = []
        var seen = Set<Session>()
        var total = 0
        var limit = maxItems
        for item in queue {
            let isNewSession = seen.insert(session(item)).inserted
            let count = tokens(item)
            if batch.isEmpty {
                limit = max(limit, count)
            } else if !isNewSession || batch.count >= maxItems || total + count > limit {
                rest.append(item)
                continue
            }
            batch.append(item)
            total += count
        }
        queue = rest
        return batch
    }
}
