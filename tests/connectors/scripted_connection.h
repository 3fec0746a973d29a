#pragma once

#include <deque>

#include "common/status.h"

namespace sluice::connectors::testing {

// What the connectors' fake clients share: a scripted server whose calls each take the next
// planned outcome (default: success), and a connection that Connect() opens and a failed call
// may drop.
class ScriptedConnection {
 public:
  Status ScriptedConnect() {
    ++connects;
    Status status = Next(connect_outcomes);
    connected_ = status.ok();
    return status;
  }

  static Status Next(std::deque<Status>& outcomes) {
    if (outcomes.empty()) return Status::Ok();
    Status status = outcomes.front();
    outcomes.pop_front();
    return status;
  }

  std::deque<Status> connect_outcomes;
  int connects = 0;

 protected:
  bool connected_ = false;
};

}  // namespace sluice::connectors::testing
