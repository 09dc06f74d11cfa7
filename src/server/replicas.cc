#include "replicas.h"

#include "coordinator.h"

namespace cmud::server {

Result<Replicas> start_replicas(actor::System& system,
                                std::vector<std::string> query_ports,
                                const SyncOptions& sync,
                                std::vector<std::string> join) {
  size_t n = system.worker_count();
  Replicas r;
  r.desc.address = system.address();
  r.desc.query = std::move(query_ports);
  for (size_t i = 0; i < n; ++i) {
    uint64_t id = kCoordinatorId + 1 + i;  // spawned right after it
    r.desc.actors.push_back(id);
    r.queries.emplace_back(r.desc.address, id);
  }
  r.coordinator =
      system.spawn_on<Coordinator>(0, r.desc, r.queries, std::move(join));
  if (r.coordinator.id() != kCoordinatorId) {
    return Status(ErrorCode::kInternal, "unexpected actor ids at start-up");
  }
  for (size_t i = 0; i < n; ++i) {
    auto q = system.spawn_on<QueryActor>(i, i, sync, r.desc.address,
                                         r.queries);
    if (q != r.queries[i]) {
      return Status(ErrorCode::kInternal, "unexpected actor ids at start-up");
    }
  }
  system.tell(r.coordinator, StartCoordinator{});
  return r;
}

}  // namespace cmud::server
