#include "cli/env_names.h"

#include <cctype>
#include <string>

namespace sluice::cli {

void AddEnvironmentNames(CLI::App& app) {
  for (CLI::App* command : app.get_subcommands({})) {
    for (CLI::Option* option : command->get_options({})) {
      if (!option->nonpositional() || option->get_lnames().empty()) continue;
      const std::string& name = option->get_lnames().front();
      if (name == "help") continue;
      std::string env = "SLUICE_";
      for (char c : name) env += c == '-' ? '_' : static_cast<char>(std::toupper(c));
      option->envname(env);
    }
    AddEnvironmentNames(*command);
  }
}

}  // namespace sluice::cli
