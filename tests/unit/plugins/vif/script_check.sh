# The checks of the shipped-script tests (vif's test_scripts.sh, vbd's test_block_file.sh,
# vnet's test_script.sh), sourced by each: they print "ok   NAME" or "FAIL NAME ..." and
# count failures in $fails, which the test turns into its exit status. POSIX sh.
fails=0

check() { # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then
        echo "ok   $1"
    else
        echo "FAIL $1"
        echo "  expected: $2"
        echo "  got:      $3"
        fails=$((fails + 1))
    fi
}

contains() { # contains NAME NEEDLE HAYSTACK
    case $3 in
    *"$2"*) echo "ok   $1" ;;
    *)
        echo "FAIL $1: no '$2' in:"
        echo "$3" | sed 's/^/  | /'
        fails=$((fails + 1))
        ;;
    esac
}

status() { # the exit status of a command, without set -e stopping us
    set +e
    "$@" >/dev/null 2>&1
    s=$?
    set -e
    echo $s
}
