// `simpul completion bash`: a bash completion script made from the command tree itself, so it
// never lags behind a new command or option. The package installs its output as
// /usr/share/bash-completion/completions/simpul.

#include <iostream>
#include <set>

#include "cli/command.hpp"

namespace simpul::cli {
namespace {

struct Table {
  std::string subs, opts;  // one `[path]="words"` line each
  std::set<std::string> valued;
};

void walk(const CLI::App& app, const std::string& path, Table& t) {
  std::string subs, opts;
  for (const auto* sub : app.get_subcommands({})) {
    subs += (subs.empty() ? "" : " ") + sub->get_name();
    walk(*sub, path + " " + sub->get_name(), t);
  }
  for (const auto* opt : app.get_options({})) {
    if (!opt->nonpositional()) continue;
    for (const auto& l : opt->get_lnames()) {
      opts += (opts.empty() ? "" : " ") + ("--" + l);
      if (opt->get_type_size_max() > 0) t.valued.insert("--" + l);
    }
  }
  if (!subs.empty()) t.subs += "  [\"" + path + "\"]=\"" + subs + "\"\n";
  t.opts += "  [\"" + path + "\"]=\"" + opts + "\"\n";
}

std::string bash_script(const CLI::App& app) {
  Table t;
  walk(app, "simpul", t);
  std::string valued;
  for (const auto& v : t.valued) valued += (valued.empty() ? "" : "|") + v;
  std::string s;
  s += "# bash completion for simpul (made by `simpul completion bash`)\n";
  s += "declare -gA _simpul_subs=(\n" + t.subs + ")\n";
  s += "declare -gA _simpul_opts=(\n" + t.opts + ")\n";
  s += R"(_simpul() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local path=simpul i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    [[ $w == -* ]] && continue
    [[ " ${_simpul_subs[$path]} " == *" $w "* ]] && path="$path $w"
  done
  case "$prev" in
    )" +
       valued +
       R"()
      COMPREPLY=($(compgen -f -- "$cur"))
      return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "${_simpul_opts[$path]}" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "${_simpul_subs[$path]}" -- "$cur"))
    [[ -z ${_simpul_subs[$path]} ]] && COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _simpul simpul
)";
  return s;
}

}  // namespace

void add_completion(CLI::App& app, Commands& out) {
  auto shell = std::make_shared<std::string>("bash");
  auto* c = app.add_subcommand("completion", "Print a shell completion script (bash)");
  c->add_option("shell", *shell, "The shell (bash)")->check(CLI::IsMember({"bash"}));
  CLI::App* root = &app;
  out.push_back({c, [root] {
                   std::cout << bash_script(*root);
                   return kOk;
                 }});
}

}  // namespace simpul::cli
