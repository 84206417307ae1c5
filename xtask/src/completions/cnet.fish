
# Names, drivers, modes and interfaces come from cnet itself (`cnet __complete KIND`).
complete -c cnet -n "__fish_cnet_using_subcommand attach" -f -a "(cnet __complete networks; cnet __complete namespaces)"
complete -c cnet -n "__fish_cnet_using_subcommand detach" -f -a "(cnet __complete networks; cnet __complete namespaces)"
complete -c cnet -n "__fish_cnet_using_subcommand exec-in-ns" -f -a "(cnet __complete namespaces)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from rm remove inspect" -f -a "(cnet __complete networks)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from add rm remove; and __fish_seen_subcommand_from peer" -f -a "(cnet __complete networks)"
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from ls list" -f -a "(cnet __complete networks)"
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from rm remove" -f -a "(cnet __complete namespaces)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -s d -l driver -x -a "(cnet __complete drivers)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l mode -x -a "(cnet __complete modes)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l parent -x -a "(cnet __complete parents)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l underlay -x -a "(cnet __complete parents)"
