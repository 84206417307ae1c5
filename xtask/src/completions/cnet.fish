
# Names, drivers, modes and interfaces come from cnet itself (`cnet __complete KIND`).

# How many positional words the command line has before the cursor, after cnet's command
# (options and their values left out): which argument is being completed.
function __fish_cnet_positionals
    set -l value_opts @VALUE_OPTS@
    set -l words (commandline -opc)
    set -l n 0
    set -l skip 0
    for word in $words[2..-1]
        if test $skip = 1
            set skip 0
        else if string match -q -- '-*' $word
            contains -- $word $value_opts; and set skip 1
        else
            set n (math $n + 1)
        end
    end
    # The command itself (attach, detach...) is the first.
    math $n - 1
end

complete -c cnet -n "__fish_cnet_using_subcommand attach; and test (__fish_cnet_positionals) = 0" -f -a "(cnet __complete networks; cnet __complete namespaces)"
complete -c cnet -n "__fish_cnet_using_subcommand attach; and test (__fish_cnet_positionals) = 1" -f -a "(cnet __complete namespaces)"
complete -c cnet -n "__fish_cnet_using_subcommand detach; and test (__fish_cnet_positionals) = 0" -f -a "(cnet __complete networks)"
complete -c cnet -n "__fish_cnet_using_subcommand detach; and test (__fish_cnet_positionals) = 1" -f -a "(cnet __complete namespaces)"
complete -c cnet -n "__fish_cnet_using_subcommand exec-in-ns; and test (__fish_cnet_positionals) = 0" -f -a "(cnet __complete namespaces)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from rm remove inspect" -f -a "(cnet __complete networks)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from add rm remove; and __fish_seen_subcommand_from peer" -f -a "(cnet __complete networks)"
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from ls list" -f -a "(cnet __complete networks)"
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from rm remove" -f -a "(cnet __complete namespaces)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -s d -l driver -x -a "(cnet __complete drivers)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l mode -x -a "(cnet __complete modes)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l parent -x -a "(cnet __complete parents)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l underlay -x -a "(cnet __complete parents)"
