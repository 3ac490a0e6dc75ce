#!/bin/bash
# The Xen 2.0 Python xm client against this xend, without Python 2: every request the 2.0
# client sends for each xm command and each of its ops is replayed byte
# for byte over a raw socket (bash /dev/tcp), and every reply is checked the way the 2.0
# client's httplib + XendProtocol would take it:
#
#   framing   `HTTP/1.x NNN reason`, headers `Name: value`, one Content-Type, the body
#             delimited by Content-Length or chunked (httplib of an HTTP/1.1 request on a
#             kept-alive connection hangs otherwise), nothing after the body
#   status    200/201/202 = a value; anything else is an error whose REASON PHRASE is what
#             xm prints; 204 = None, which the 2.0 xm never expects (create's unpause does
#             `reply < 0`, None < 0 is true in Python 2 and destroys the new domain)
#   body      Content-Type exactly `application/sxp` => the WHOLE body goes through the 2.0
#             sxp.Parser (the client feeds it all; a ParseError anywhere, or an empty body
#             (get_val of nothing), is a traceback); the first value is the result and a
#             `(xend.err MSG)` is an error; any other Content-Type => the raw text
#   values    what xm does with them: int() of id/memory/cpu/console_port, float() of
#             cpu_time, x[1] of every node child, child(info,'domain')[1] of a console ...
#
# The request bytes are those of Python 2.7 httplib (request line, Host, Accept-Encoding:
# identity, Content-Length on POST, then the client's Content-Type; no User-Agent, no
# Accept), the parameters in the iteration order of the client's Python 2 dict literals
# (computed from CPython 2.7's string hash and dict probing; it reproduces the verified
# `cpu=3&op=pincpu` and `warpback=..&warpvalue=..&warpu=..&warpl=..&mcuadv=..&op=..`),
# urlencoded with urllib.quote_plus, and multipart as encode.py writes it (a file part's
# bytes run straight into the next `--BOUNDARY`).
source "$(dirname "$0")/lib.sh"

# ---- scripts: no root needed (a vif script that does nothing, a block script that binds
# a file to a made-up node) ----
mkdir -p "$T/scripts"
printf '#!/bin/sh\nexit 0\n' > "$T/scripts/nop"
printf '#!/bin/sh\n[ "$1" = bind ] && echo "%s/node.$(basename "$2")"\nexit 0\n' "$T" > "$T/scripts/block-wire"
chmod 755 "$T/scripts/nop" "$T/scripts/block-wire"
printf 'disk image\n' > "$T/img1"
printf 'disk image\n' > "$T/img2"

xend_start 'vif-script = "nop";
network-script = "nop";
block-file = "block-wire";' || { not_ok "xend starts"; finish; }
ok "xend starts"
KERNEL=$(sim_kernel)
HOSTPORT=127.0.0.1:$XEND_PORT

# ---------------------------------------------------------------------------------------
# SXP reader with the rules of the 2.0 sxp.Parser (docs/compat.md). Reads a file;
# prints `OK N` (N top-level values) or `ERR message`, then for each list inside the FIRST
# value one line `PATH<TAB>LENGTH<TAB>SECOND`: PATH the heads from the top joined by `/`,
# LENGTH the number of elements, SECOND the second element when it is an atom (strings
# unescaped, tabs and newlines as spaces), `(` when it is a list.
cat > "$T/sxp.awk" <<'AWK'
BEGIN {
    # string.printable of Python 2: digits, letters, punctuation, whitespace
    printable = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    printable = printable "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \t\n\r\013\014"
    space = " \t\n\r\013\014"; sep = "{}()<>[]!;"
    esc["a"] = "\007"; esc["b"] = "\010"; esc["t"] = "\t"; esc["n"] = "\n"
    esc["v"] = "\013"; esc["f"] = "\014"; esc["r"] = "\r"; esc["\\"] = "\\"
    esc["'"] = "'"; esc["\""] = "\""
    hex = "0123456789abcdef"; HEX = "0123456789ABCDEF"
}
{ text = text $0 "\n" }
function fail(msg) { print "ERR " msg; bad = 1; exit 0 }
function clean(s) { gsub(/[\t\n]/, " ", s); return s }
# an element finished at the current depth (d >= 1: inside a list; d == 0: top level)
function elem(isatom, val) {
    if (depth == 0) { nvals++; return }
    n[depth]++
    if (n[depth] == 1) head[depth] = isatom ? val : ""
    if (n[depth] == 2) second[depth] = isatom ? clean(val) : "("
}
function closelist(   p, k) {
    if (nvals == 0) {   # only the first value is described
        p = head[1]
        for (k = 2; k <= depth; k++) p = p "/" head[k]
        out[++nout] = p "\t" n[depth] "\t" second[depth]
    }
    depth--
    elem(0, "")
}
END {
    if (bad) exit 0
    len = length(text); i = 1; depth = 0; nvals = 0
    while (i <= len) {
        c = substr(text, i, 1)
        if (index(space, c)) { i++; continue }
        if (c == "#") { while (i <= len && substr(text, i, 1) != "\n") i++; continue }
        if (c == "(") { depth++; n[depth] = 0; head[depth] = ""; second[depth] = ""; i++; continue }
        if (c == ")") { if (depth == 0) fail("syntax error: )"); closelist(); i++; continue }
        if (c == "\"" || c == "'") {
            q = c; s = ""; i++
            for (;;) {
                if (i > len) fail("unexpected EOF in a string")
                c = substr(text, i, 1)
                if (c == q) { i++; break }
                if (c != "\\") { s = s c; i++; continue }
                i++
                if (i > len) fail("unexpected EOF in an escape")
                c = substr(text, i, 1)
                if (c in esc) { s = s esc[c]; i++; continue }
                if (c == "x") {
                    # the 2.0 reader needs exactly two hex digits: a non-hex character
                    # after \x or \xH reaches `len(buf)`, an undefined name (NameError)
                    i++
                    for (k = 0; k < 2; k++) {
                        c = substr(text, i, 1)
                        if (c == "" || (!index(hex, c) && !index(HEX, c)))
                            fail("\\x escape without two hex digits (NameError in the 2.0 reader)")
                        i++
                    }
                    s = s "?"; continue
                }
                if (index("01234567", c)) {
                    v = 0
                    for (k = 0; k < 3 && i <= len && index("01234567", substr(text, i, 1)); k++) {
                        v = v * 8 + index("01234567", substr(text, i, 1)) - 1; i++
                    }
                    if (v > 255) fail("invalid octal escape: out of range")
                    if (i > len) fail("unexpected EOF in an escape")
                    s = s "?"; continue
                }
                s = s "\\"; i++   # unknown escape: the backslash stays, the character goes
            }
            elem(1, s); continue
        }
        if (c == "\004") break   # ctrl-D: end of input for the 2.0 reader
        if (!index(printable, c)) fail(sprintf("invalid character at byte %d", i))
        s = c; i++
        while (i <= len) {
            c = substr(text, i, 1)
            if (index(sep, c) || index(space, c) || c == "#") break
            s = s c; i++
        }
        elem(1, s)
    }
    if (depth > 0) fail("unexpected EOF in a list")
    if (nvals == 0) fail("no value (get_val on an empty parse: IndexError in the 2.0 client)")
    print "OK " nvals
    for (k = 1; k <= nout; k++) print out[k]
}
AWK
sxp_parse() { LC_ALL=C awk -f "$T/sxp.awk" "$1"; }

# The reader itself: it must refuse what the 2.0 parser refuses, or the body checks below
# prove nothing.
reader_says() { printf '%s' "$1" > "$T/rd"; sxp_parse "$T/rd" | head -n 1; }
for good in "0" "(a b)" "(xend.err \"(22, 'Invalid argument')\")" "(a 'x\\'y') # c" \
    "(a) trailing" "(v '\\x41\\101')" "(a!b)" "(a ;b)"; do
    r=$(reader_says "$good")
    case $r in OK*) ok "the 2.0 reader takes [$good]" ;; *) not_ok "the 2.0 reader takes [$good]" "$r" ;; esac
done
for bad in "" "   " ")" "(a" "(a 'b)" "(a) )" "(a '\\x4')" "(a '\\xZZ')" "$(printf '(a \001)')" \
    "$(printf '(a \303\251)')" "(a '\\777')"; do
    r=$(reader_says "$bad")
    case $r in ERR*) ok "the 2.0 reader refuses [$bad]" ;; *) not_ok "the 2.0 reader refuses [$bad]" "$r" ;; esac
done

# ---------------------------------------------------------------------------------------
# Request bytes as the 2.0 client sends them.

# quote_plus STRING: urllib.quote_plus of Python 2 (always safe: letters digits _.-)
quote_plus() {
    local LC_ALL=C s=$1 out="" c i h
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
        [A-Za-z0-9_.-]) out+=$c ;;
        ' ') out+='+' ;;
        *) printf -v h '%%%02X' "'$c"; out+=$h ;;
        esac
    done
    printf '%s' "$out"
}

# form K1 V1 K2 V2 ...: urllib.urlencode of the pairs in the order given
form() {
    local out="" sep=""
    while [ $# -ge 2 ]; do
        out+="$sep$(quote_plus "$1")=$(quote_plus "$2")"
        sep="&"
        shift 2
    done
    printf '%s' "$out"
}

BOUNDARY=0123456789abcdef # md5 hexdigest[:16]: 16 lower-case hex digits
# multipart ARGS...: encode.encode_multipart of the parts in the order given; an argument
# `name=@FILE` is a file part (filename = the path as given, the bytes verbatim, no CRLF
# added), `name=value` a plain field.
multipart() {
    local a k v
    for a in "$@"; do
        k=${a%%=*}
        v=${a#*=}
        printf -- '--%s\r\n' "$BOUNDARY"
        if [ "${v:0:1}" = @ ]; then
            printf 'Content-Disposition: form-data; name="%s"; filename="%s"\r\n' "$k" "${v:1}"
            printf 'Content-Type: application/octet-stream\r\n\r\n'
            cat "${v:1}"
        else
            printf 'Content-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' "$k" "$v"
        fi
    done
    printf -- '--%s--\r\n' "$BOUNDARY"
}

# http_get PATH [QUERY]: a GET; with a query the client also sends its Content-Type
http_get() {
    if [ -n "${2:-}" ]; then
        printf 'GET %s?%s HTTP/1.1\r\nHost: %s\r\nAccept-Encoding: identity\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n' \
            "$1" "$2" "$HOSTPORT" > "$T/req"
    else
        printf 'GET %s HTTP/1.1\r\nHost: %s\r\nAccept-Encoding: identity\r\n\r\n' "$1" "$HOSTPORT" > "$T/req"
    fi
    REQ_DESC="GET $1${2:+?$2}"
    exchange
}

# http_post PATH CONTENT-TYPE BODYFILE: a POST (the caller strips the trailing / as the
# client does)
http_post() {
    local len
    len=$(wc -c < "$3")
    { printf 'POST %s HTTP/1.1\r\nHost: %s\r\nAccept-Encoding: identity\r\nContent-Length: %s\r\nContent-Type: %s\r\n\r\n' \
        "$1" "$HOSTPORT" "$len" "$2"; cat "$3"; } > "$T/req"
    REQ_DESC="POST $1 $(head -c 120 "$3" | tr '\r\n' '..')"
    exchange
}

# post_form PATH K V ...: an urlencoded POST with the pairs in the client's dict order
post_form() {
    local path=$1
    shift
    form "$@" > "$T/reqbody"
    http_post "$path" application/x-www-form-urlencoded "$T/reqbody"
}

# post_multipart PATH PART...: a multipart POST (a config given as a file name)
post_multipart() {
    local path=$1
    shift
    multipart "$@" > "$T/reqbody"
    http_post "$path" "multipart/form-data; boundary=$BOUNDARY" "$T/reqbody"
}

# ---------------------------------------------------------------------------------------
# One exchange on a fresh connection, read as httplib reads it. Sets R_STATUS, R_REASON,
# R_CT (Content-Type), R_PROBLEMS (framing faults, empty when fine); the body is in
# $T/body, the header lines in $T/head.
exchange() {
    local line name val cl="" te="" ncl=0 nct=0 size got x
    R_STATUS=000 R_REASON="" R_CT="" R_PROBLEMS=""
    : > "$T/body"
    : > "$T/head"
    if ! exec 3<>"/dev/tcp/127.0.0.1/$XEND_PORT"; then
        R_PROBLEMS="cannot connect"
        return
    fi
    cat "$T/req" >&3
    if ! IFS= read -r -t 10 line <&3; then
        R_PROBLEMS="no status line within 10 s"
        exec 3<&-
        return
    fi
    line=${line%$'\r'}
    if [[ $line =~ ^HTTP/1\.[01]\ ([0-9]{3})(\ (.*))?$ ]]; then
        R_STATUS=${BASH_REMATCH[1]}
        R_REASON=${BASH_REMATCH[3]}
    else
        R_PROBLEMS+="bad status line [$line]; "
    fi
    while :; do
        if ! IFS= read -r -t 10 line <&3; then
            R_PROBLEMS+="headers not ended by an empty line; "
            break
        fi
        line=${line%$'\r'}
        [ -z "$line" ] && break
        printf '%s\n' "$line" >> "$T/head"
        if [[ $line =~ ^([!-9\;-~]+):[\ $'\t']*(.*[^\ $'\t'])?[\ $'\t']*$ ]]; then
            name=${BASH_REMATCH[1],,}
            val=${BASH_REMATCH[2]}
            case $name in
            content-type) R_CT=$val; nct=$((nct + 1)) ;;
            content-length) cl=$val; ncl=$((ncl + 1)) ;;
            transfer-encoding) te=${val,,} ;;
            esac
        else
            R_PROBLEMS+="bad header line [$line]; "
        fi
    done
    # httplib joins repeated headers with ", ": two Content-Types never equal application/sxp
    [ $nct -gt 1 ] && R_PROBLEMS+="$nct Content-Type headers; "
    [ $ncl -gt 1 ] && R_PROBLEMS+="$ncl Content-Length headers; "
    if [ "$te" = chunked ]; then
        while :; do
            if ! IFS= read -r -t 10 line <&3; then R_PROBLEMS+="chunk size line missing; "; break; fi
            line=${line%$'\r'}
            line=${line%%;*}
            [[ $line =~ ^[0-9A-Fa-f]+$ ]] || { R_PROBLEMS+="bad chunk size [$line]; "; break; }
            size=$((16#$line))
            if [ $size = 0 ]; then
                while IFS= read -r -t 10 line <&3 && [ -n "${line%$'\r'}" ]; do :; done
                break
            fi
            timeout 10 head -c "$size" <&3 >> "$T/body"
            IFS= read -r -t 10 line <&3
        done
    elif [ -n "$cl" ]; then
        if [[ $cl =~ ^[0-9]+$ ]]; then
            timeout 10 head -c "$cl" <&3 > "$T/body"
            got=$(wc -c < "$T/body")
            [ "$got" = "$cl" ] || R_PROBLEMS+="Content-Length $cl but $got bytes; "
        else
            R_PROBLEMS+="bad Content-Length [$cl]; "
        fi
    elif [ "$R_STATUS" = 204 ] || [ "$R_STATUS" = 304 ]; then
        :
    else
        # neither length nor chunked: httplib reads to the close
        timeout 10 cat <&3 > "$T/body"
        [ $? = 124 ] && R_PROBLEMS+="no Content-Length, not chunked, and the connection stays open; "
    fi
    # Anything right behind the body is garbage to a one-request-per-connection client.
    if IFS= read -r -N 1 -t 0.05 x <&3; then
        R_PROBLEMS+="bytes after the body; "
    fi
    exec 3<&-
    classify
}

# ---------------------------------------------------------------------------------------
# What the 2.0 client makes of the last reply. RESULT: `value`, `error MSG`, `text`, `none`
# or `crash WHY` (a traceback in xm). The parsed description of the first value is in
# $T/val (see sxp.awk).
classify() {
    local first
    : > "$T/val"
    if [ -n "$R_PROBLEMS" ]; then RESULT="crash framing: $R_PROBLEMS"; return; fi
    case $R_STATUS in
    204) RESULT="none"; return ;;
    200 | 201 | 202) ;;
    *) RESULT="error $R_REASON"; return ;;
    esac
    if [ "$R_CT" != application/sxp ]; then RESULT="text"; return; fi
    sxp_parse "$T/body" > "$T/val"
    first=$(head -n 1 "$T/val")
    case $first in
    OK*) ;;
    *) RESULT="crash ParseError: ${first#ERR }"; return ;;
    esac
    if grep -q "^xend.err	" "$T/val"; then
        if grep -qE "^xend.err	[01]	" "$T/val"; then
            RESULT="crash (xend.err) without a message: IndexError"
        else
            RESULT="error $(grep "^xend.err	" "$T/val" | head -n 1 | cut -f 3)"
        fi
        return
    fi
    # an atom as the whole value: no list line was printed
    RESULT="value"
}

# got DESC WANT: one test line for the last exchange. WANT: value | error | text | any
# (value or error: the op may legitimately fail on the sim backend, the reply must still be
# one the client handles) | error:REGEX (an error whose message matches).
got() {
    local desc=$1 want=$2 ok=0
    case $want in
    value) [ "$RESULT" = value ] && ok=1 ;;
    text) [ "$RESULT" = text ] && ok=1 ;;
    error) [[ $RESULT == error* ]] && ok=1 ;;
    error:*) [[ $RESULT == error* ]] && printf '%s' "${RESULT#error }" | grep -qE -- "${want#error:}" && ok=1 ;;
    any) { [ "$RESULT" = value ] || [[ $RESULT == error* ]]; } && ok=1 ;;
    esac
    if [ $ok = 1 ]; then
        ok "$desc"
    else
        not_ok "$desc" "$REQ_DESC => $R_STATUS $R_REASON [$R_CT] $(head -c 300 "$T/body" | tr '\n' ' ') => client: $RESULT (want $want)"
    fi
}

# v PATH: the second element of the list at PATH of the last value (`domain/console/console_port`)
v() { awk -F '\t' -v p="$1" '$1 == p { print $3; exit }' "$T/val"; }
# vlen PATH: its element count
vlen() { awk -F '\t' -v p="$1" '$1 == p { print $2; exit }' "$T/val"; }
# the atoms of a flat top-level list `(a b c)` of the last body
atoms() { tr '()' '  ' < "$T/body" | tr -s ' \n' '\n\n' | grep -v '^$'; }

is_int() { [[ $1 =~ ^[[:space:]]*[-+]?[0-9]+[[:space:]]*$ ]]; }                              # Python int()
is_float() { [[ $1 =~ ^[[:space:]]*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?[[:space:]]*$ ]]; } # float()

expect_true() { if eval "$2"; then ok "$1"; else not_ok "$1" "$3"; fi; }

# ---------------------------------------------------------------------------------------
# The SXP of a config as `xm create` builds it (sxp.to_string of create.py's list).
# Python configs go urlencoded; -F uploads the file.
vmconf() { # NAME [EXTRA-DEVICES]
    echo "(vm (name $1) (memory 32) (image (linux (kernel $KERNEL) (root '/dev/hda1 ro') (args 4))) ${2:-(device (vif (mac aa:00:00:18:64:91)))})"
}
macof() { printf 'aa:00:00:%02x:%02x:%02x' $((RANDOM % 128)) $((RANDOM % 256)) $((RANDOM % 256)); }

# xm create: POST /xend/domain (the client strips the /), then read name + console port,
# then unpause unless -p. $1 = NAME, $2 = config SXP, $3 = order of the dict (config-op:
# the order CPython 2.7 iterates {'op','config'}; op-config: the 2.0 client's capture).
xm_create() {
    if [ "${3:-config-op}" = op-config ]; then
        post_form /xend/domain op create config "$2"
    else
        post_form /xend/domain config "$2" op create
    fi
}

# ======================================================================================
# xm info / xm call xend / node ops
http_get /xend/node/
got "xm info: GET /xend/node/ is a value" value
[ "$(head -n 1 "$T/val")" = "OK 1" ] && ok "xm info: the body is exactly one value" ||
    not_ok "xm info: the body is exactly one value" "$(head -n 1 "$T/val")"
expect_eq "xm info: the value is (node ...)" node "$(awk -F '\t' '$1 == "node" { print "node" }' "$T/val")"
short=$(awk -F '\t' '$1 ~ /^node\// && $2 < 2 { print $1 }' "$T/val")
expect_eq "xm info: every node child has a value (xm prints x[1])" "" "$short"
for k in system host release version machine cores hyperthreads_per_core cpu_mhz memory free_memory; do
    [ -n "$(vlen "node/$k")" ] || not_ok "xm info: node has ($k ...)" "$(cat "$T/body")"
done
ok "xm info: node has the ten 2.0 fields"

http_get /xend/
got "xm call xend: GET /xend/" value
expect_match "GET /xend/ lists the 2.0 children" 'node.*domain.*console' "$(cat "$T/body")"
http_get /xend/node
got "GET /xend/node (no slash) answers too" value

http_get /xend/node/dmesg
got "xm dmesg: GET /xend/node/dmesg is raw text, not SXP" text
expect_match "xm dmesg: text/plain" '^text/plain' "$R_CT"
post_form /xend/node/dmesg op clear
got "xm dmesg -c: POST /xend/node/dmesg op=clear" value
http_get /xend/node/log
got "xm log: GET /xend/node/log is raw text" text
expect_match "xm log: text/plain" '^text/plain' "$R_CT"

post_form /xend/node ctx_allow 5000000 op cpu_bvt_slice_set
got "xm bvt_ctxallow: ctx_allow=5000000&op=cpu_bvt_slice_set" value
post_form /xend/node slice 10000000 op cpu_rrobin_slice_set
got "xm call node_cpu_rrobin_slice_set: slice=..&op=cpu_rrobin_slice_set (value, or an error under bvt)" any
post_form /xend/node op shutdown
got "xm call node_shutdown: refused or done, in a form the client reads" any
post_form /xend/node op reboot
got "xm call node_restart (op=reboot): refused or done, in a form the client reads" any
http_get /xend/node/
got "xend still serves after the node ops" value

# ======================================================================================
# xm create (python config, urlencoded)
xm_create wire1 "$(vmconf wire1)"
got "xm create: config=..&op=create is a value" value
expect_eq "xm create: 201 created" 201 "$R_STATUS"
expect_eq "xm create: the reply is (domain ...)" domain "$(awk -F '\t' '$1 == "domain" { print $1 }' "$T/val")"
expect_eq "xm create: sxp.child_value(dominfo, 'name')" wire1 "$(v domain/name)"
PORT1=$(v domain/console/console_port)
expect_true "xm create: int() of console/console_port [$PORT1]" 'is_int "$PORT1"' "$(cat "$T/body")"
ID1=$(v domain/id)
post_form /xend/domain/wire1 op unpause
got "xm create: POST op=unpause is a value (None < 0 would destroy the domain)" value

# the order the 2.0 client was seen to send
xm_create wire2 "$(vmconf wire2 "(device (vif (mac $(macof))))")" op-config
got "xm create: op=create&config=.. (the other order) is a value" value
PORT2=$(v domain/console/console_port)
expect_true "xm create (op first): an int console port" 'is_int "$PORT2"' "$(cat "$T/body")"

# -p: no unpause
xm_create wire3 "$(vmconf wire3 "(device (vif (mac $(macof))))")"
got "xm create -p: 201 value" value
http_get /xend/domain/wire3
got "xm create -p: GET the domain" value
expect_match "xm create -p: stays paused" '^..p..$' "$(v domain/state)"

# vif = ['bridge=xen-br0'] in a 2.0.0 config: create.py writes (mac None) => 'None'
xm_create wire4 "$(vmconf wire4 "(device (vif (mac 'None') (bridge xen-br0)))")"
got "xm create of vif = ['bridge=xen-br0']: (mac 'None') is taken as no mac" value
post_form /xend/domain/wire4 op unpause
http_get /xend/domain/wire4 op=vifs
got "the (mac 'None') vif exists" value
expect_match "the (mac 'None') vif got a generated aa:00:00 mac" '\(mac aa:00:00:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}\)' "$(cat "$T/body")"

# -F SXPFILE: multipart, the file ending in a newline => `))\n--B`
vmconf wire5 "(device (vif (mac $(macof))))" > "$T/wire5.sxp"
post_multipart /xend/domain "config=@$T/wire5.sxp" op=create
got "xm create -F: multipart, file part straight into --boundary" value
expect_eq "xm create -F: 201" 201 "$R_STATUS"
PORT5=$(v domain/console/console_port)
expect_true "xm create -F: an int console port" 'is_int "$PORT5"' "$(cat "$T/body")"
post_form /xend/domain/wire5 op unpause
got "xm create -F: unpause" value

# -F of a file without a final newline => `))--B`: 2.0.0's Twisted answered 406; either a
# domain or a clean error is fine, never a crash of the client
vmconf wire6 "(device (vif (mac $(macof))))" | tr -d '\n' > "$T/wire6.sxp"
post_multipart /xend/domain "config=@$T/wire6.sxp" op=create
got "xm create -F of a file without a final newline: a reply the client handles" any
WIRE6=$RESULT

# every element create.py can write (pci aside: no pci device class on the sim backend),
# in create.py's order, nics=2 => two vifs
printf 'ramdisk\n' > "$T/initrd"
xm_create full "(vm (name full) (memory 32) (maxmem 64) (cpu 1) (cpu_weight 1.0) (backend (blkif)) (backend (netif)) (restart onreboot) (image (linux (kernel $KERNEL) (ramdisk $T/initrd) (ip 10.0.0.5:1.2.3.4:10.0.0.1:255.255.255.0:full:eth0:off) (root '/dev/sda1 ro') (args 'quiet x=1'))) (device (vbd (uname file:$T/img2) (dev sda1) (mode r))) (device (vif (mac $(macof)))) (device (vif (mac $(macof)))))"
got "xm create with every create.py element: 201 value" value
expect_eq "xm create with every element: two vifs and a vbd" "vif vif vbd" \
    "$(awk -F '\t' '$1 ~ /^domain\/devices\/(vif|vbd)$/ { sub(/.*\//, "", $1); print $1 }' "$T/val" | sort -r | xargs)"
post_form /xend/domain/full reason halt op destroy
got "destroy it" value

# A name over 15 characters: 2.0.0 kept it and gave Xen only its last 15 (docs/compat.md
# §7.1); a refusal breaks 2.0 configs that worked. Reported; marked until decided.
xm_create wire-long-name-0123456789 "$(vmconf wire-long-name-0123456789 "(device (vif (mac $(macof))))")"
classify
if [ "$RESULT" = value ]; then
    ok "xm create of a 26-character name is accepted as 2.0.0 did"
    post_form /xend/domain/wire-long-name-0123456789 reason halt op destroy
else
    echo "not ok - xm create of a 26-character name is accepted as 2.0.0 did # TODO known divergence, reported: $RESULT"
fi

# an error: name clash => (xend.err "...") that xm prints
xm_create wire1 "$(vmconf wire1 "(device (vif (mac $(macof))))")"
got "xm create of a duplicate name: (xend.err MSG) naming it" 'error:wire1'
[ "$(head -n 1 "$T/val")" = "OK 1" ] && ok "the error body is exactly one value (no trailing page)" ||
    not_ok "the error body is exactly one value" "$(cat "$T/body")"
expect_eq "the error is 200 application/sxp" "200 application/sxp" "$R_STATUS $R_CT"
xm_create 'bad name!' "(vm (name 'bad name!') (memory 32) (image (linux (kernel $KERNEL))))"
got "xm create of an invalid name: an error" error
xm_create nokernel "(vm (name nokernel) (memory 32) (image (linux (kernel /nonexistent/vmlinuz))))"
got "xm create of a missing kernel: an error" error
post_form /xend/domain config '(vm (name' op create
got "xm create of a config that does not parse: an error" error

# ======================================================================================
# xm list / -l / domid / domname
http_get /xend/domain/
got "xm list: GET /xend/domain/ is a value" value
NAMES=$(atoms)
expect_match "xm list: the names, Domain-0 among them" '^Domain-0$' "$NAMES"
expect_match "xm list: wire1 among them" '^wire1$' "$NAMES"
expect_no_match "xm list: names, not records" '^(domain|id|name)$' "$NAMES"
for n in $NAMES; do
    http_get "/xend/domain/$n"
    got "xm list: GET /xend/domain/$n" value
    id=$(v domain/id)
    mem=$(v domain/memory)
    cpu=$(v domain/cpu)
    st=$(v domain/state)
    ct=$(v domain/cpu_time)
    port=$(v domain/console/console_port)
    [ -z "$cpu" ] && cpu=0
    [ -z "$ct" ] && ct=0
    expect_true "xm list $n: int(id) int(memory) int(cpu) float(cpu_time) [$id $mem $cpu $ct]" \
        'is_int "$id" && is_int "$mem" && is_int "$cpu" && is_float "$ct"' "$(cat "$T/body")"
    expect_eq "xm list $n: the record's name is the listed name" "$n" "$(v domain/name)"
    expect_match "xm list $n: a 5-letter state" '^[r-][b-][p-][s-][c-]$' "$st"
    if [ "$n" != Domain-0 ]; then
        expect_true "xm list $n: an int console port [$port]" 'is_int "$port"' "$(cat "$T/body")"
    fi
    [ "$(vlen domain/devices)" != "" ] && ok "xm list -l $n: (devices) present" ||
        not_ok "xm list -l $n: (devices) present" "$(cat "$T/body")"
done
http_get "/xend/domain/$ID1"
got "xm list ID / xm domname ID: GET /xend/domain/$ID1" value
expect_eq "xm domname: by id" wire1 "$(v domain/name)"
http_get /xend/domain/wire1
expect_eq "xm domid: by name" "$ID1" "$(v domain/id)"
http_get /xend/domain/nosuch
got "xm list nosuch: 404 with reason invalid domain:nosuch" 'error:^invalid domain:nosuch$'
expect_eq "unknown domain: 404" 404 "$R_STATUS"

# ======================================================================================
# domain ops
post_form /xend/domain/wire1 op pause
got "xm pause: op=pause" value
http_get /xend/domain/wire1
expect_match "xm pause paused it" '^..p..$' "$(v domain/state)"
post_form /xend/domain/wire1 op unpause
got "xm unpause: op=unpause" value
post_form /xend/domain/nosuch op pause
got "xm pause nosuch: the reason phrase is the message" 'error:^invalid domain:nosuch$'

post_form /xend/domain/wire1 cpu 0 op pincpu
got "xm pincpu: cpu=0&op=pincpu" value
post_form /xend/domain/wire1 cpu abc op pincpu
got "pincpu with a bad cpu: an error" error
post_form /xend/domain/wire1 memory 64 op maxmem_set
got "xm maxmem: memory=64&op=maxmem_set" value
post_form /xend/domain/wire1 target 24 op mem_target_set
got "xm balloon: target=24&op=mem_target_set" value
http_get /xend/domain/wire1 "target=24&op=mem_target_set"
got "mem_target_set via GET: refused, the 2.0 client POSTs it (a GET never changes state)" \
    'error:^Method not allowed: op mem_target_set takes POST$'
expect_eq "mem_target_set via GET: 405" 405 "$R_STATUS"
post_form /xend/domain/wire1 warpback 1 warpvalue 0 warpu 1000 warpl 2000 mcuadv 10 op cpu_bvt_set
got "xm bvt: warpback&warpvalue&warpu&warpl&mcuadv&op=cpu_bvt_set" value
post_form /xend/domain/wire1 xtratime 1 latency 10000000 slice 10000000 period 20000000 op cpu_atropos_set
got "xm atropos: xtratime&latency&slice&period&op=cpu_atropos_set (value, or an error under bvt)" any
post_form /xend/domain/wire1 op bogus_op
got "an unknown op: 501 whose reason names it" 'error:bogus_op'
expect_eq "an unknown op: 501" 501 "$R_STATUS"
post_form /xend/domain/wire1 reason poweroff
got "a POST without op: an error status" error
expect_eq "a POST without op: 406" 406 "$R_STATUS"

# devices
http_get /xend/domain/wire1 op=vifs
got "xm vif-list: GET ?op=vifs (with a Content-Type, no body)" value
expect_match "xm vif-list: a list of (vif ...)" '^\(\(vif \(idx 0\)' "$(cat "$T/body")"
http_get /xend/domain/wire1 op=vbds
got "xm vbd-list: GET ?op=vbds" value
expect_match "xm vbd-list of a domain without vbds: ()" '^\(\)$' "$(cat "$T/body")"
http_get /xend/domain/wire1 "vif=0&op=vif"
got "xm call domain_vif: vif=0&op=vif" value
expect_match "op=vif: the device SXP (not 2.0.0's repr)" '^\(vif \(idx 0\)' "$(cat "$T/body")"
post_form /xend/domain/wire1 config "(vbd (uname file:$T/img1) (dev sdb1) (mode r))" op device_create
got "xm vbd-create: config=(vbd ...)&op=device_create" value
expect_match "vbd-create: the new device SXP" '^\(vbd ' "$(cat "$T/body")"
http_get /xend/domain/wire1 op=vbds
VBD=$(grep -oE '\(idx [0-9]+\)' "$T/body" | head -n 1 | grep -oE '[0-9]+')
http_get /xend/domain/wire1 "vbd=$VBD&op=vbd"
got "xm call domain_vbd: vbd=N&op=vbd" value
post_form /xend/domain/wire1 type vbd idx "$VBD" op device_destroy
got "xm vbd-destroy: type=vbd&idx=N&op=device_destroy" value
post_form /xend/domain/wire1 type vbd idx 99 op device_destroy
got "vbd-destroy of an unknown device: an error" error
post_form /xend/domain/wire1 config "(vbd (uname phy:nosuchdisk) (dev sdb2) (mode r))" op device_create
got "vbd-create of a missing device: an error" error
printf '(vif (mac %s))\n' "$(macof)" > "$T/vif.sxp"
post_multipart /xend/domain/wire1 "config=@$T/vif.sxp" op=device_create
got "xm call domain_device_create D FILE: multipart" value
post_form /xend/domain/wire1 config "(vif (bridge xen-br1))" idx 1 op device_configure
got "device_configure: config&idx&op" any

# configure of a domain that has a config
vmconf wire1 > "$T/cfg.sxp"
post_multipart "/xend/domain/$ID1" "config=@$T/cfg.sxp" op=configure
got "xm call domain_configure on a configured domain: an error" error

# ======================================================================================
# consoles
http_get /xend/console/
got "xm consoles: GET /xend/console/" value
PORTS=$(atoms)
expect_match "xm consoles: wire1's port is listed" "^$PORT1\$" "$PORTS"
for p in $PORTS; do
    http_get "/xend/console/$p"
    got "xm consoles: GET /xend/console/$p" value
    expect_true "xm consoles $p: child(info,'domain')[1], console_port, id" \
        '[ "$(vlen console/domain)" -ge 2 ] && [ "$(v console/console_port)" = "$p" ] && [ -n "$(v console/id)" ]' \
        "$(cat "$T/body")"
done
exec 4<>"/dev/tcp/127.0.0.1/$PORT1"
if wait_until 5 eval 'http_get /xend/console/$PORT1; [ "$(vlen console/connected)" = 3 ]'; then
    ok "xm consoles: a connected console has (connected HOST PORT)"
else
    not_ok "xm consoles: a connected console has (connected HOST PORT)" "$(cat "$T/body")"
fi
post_form "/xend/console/$PORT1" op disconnect
got "xm call console_disconnect: op=disconnect" value
exec 4<&-
http_get /xend/console/1
got "GET of an unknown console port: an error, not a 500 traceback" error
http_get /xend/domain/wire1
expect_eq "xm console: int() of the domain's console_port" "$PORT1" "$(v domain/console/console_port)"

# ======================================================================================
# vnets, events, devices
http_get /xend/vnet/
got "xm call vnets: GET /xend/vnet/" value
printf '(vnet (id 97) (bridge vnet97) (security none))\n' > "$T/vnet.sxp"
post_multipart /xend/vnet "config=@$T/vnet.sxp" op=create
got "xm call vnet_create FILE: multipart" any
if [ "$RESULT" = value ]; then
    http_get /xend/vnet/97
    got "xm call vnet 97" value
    post_form /xend/vnet/97 op delete
    got "xm call vnet_delete 97" any
fi
http_get /xend/vnet/4242
got "GET of an unknown vnet: an error, not a 500 traceback" error
http_get /xend/event/
got "GET /xend/event/" value
printf '(wire.test 1 2)\n' > "$T/event.sxp"
post_multipart /xend/event "event=@$T/event.sxp" op=inject
got "xm call event_inject FILE: multipart (2.0.0 always gave 500)" value
http_get /xend/device/
got "GET /xend/device/" value

# ======================================================================================
# save / restore / migrate
post_form /xend/domain/wire2 file "$T/wire2.save" op save
got "xm save: file=ABS&op=save" value
http_get /xend/domain/wire2
got "xm save: the domain is gone afterwards" 'error:^invalid domain:wire2$'
post_form /xend/domain file "$T/wire2.save" op restore
got "xm restore: file=ABS&op=restore" value
expect_match "xm restore: 201 (or 200) with the record" '^20[01]$' "$R_STATUS"
RID=$(v domain/id)
expect_true "xm restore: sxp.child_value(info, 'id') [$RID]" 'is_int "$RID"' "$(cat "$T/body")"
post_form "/xend/domain/$RID" op unpause
got "xm restore: unpause by the returned id" value
post_form /xend/domain file "$T/nosuch.save" op restore
got "xm restore of a missing file: an error (2.0.0: a 400 with a broken status line)" error
post_form /xend/domain/wire2 file /nonexistent/dir/x.save op save
got "xm save to an unwritable path: an error" error
post_form /xend/domain/wire3 live 0 destination 127.0.0.1 resource 0 op migrate
got "xm migrate: live&destination&resource&op=migrate (value, or an error)" any
post_form /xend/domain/Domain-0 live 0 destination 127.0.0.1 resource 0 op migrate
got "migrate of Domain-0: an error" error

# ======================================================================================
# shutdown (-w polls the name list), destroy
post_form /xend/domain/wire5 reason halt op shutdown
got "xm shutdown -w: reason=halt&op=shutdown" value
expect_match "xm shutdown: 202 (or 200)" '^20[02]$' "$R_STATUS"
names_lack() {
    http_get /xend/domain/
    [ "$RESULT" = value ] && ! atoms | grep -qx "$1"
}
if wait_until 20 names_lack wire5; then
    ok "xm shutdown -w: the name leaves GET /xend/domain/"
else
    not_ok "xm shutdown -w: the name leaves GET /xend/domain/" "$(cat "$T/body")"
fi
post_form /xend/domain/wire4 reason poweroff op shutdown
got "xm shutdown: reason=poweroff" value
post_form "/xend/domain/$RID" reason reboot op shutdown
got "xm shutdown -R: reason=reboot" value
post_form /xend/domain/wire1 reason bogus op shutdown
got "shutdown with a bad reason: invalid reason" 'error:reason'
post_form /xend/domain/wire3 reason reboot op destroy
got "xm destroy -R: reason=reboot&op=destroy" value
post_form /xend/domain/wire1 reason halt op destroy
got "xm destroy: reason=halt&op=destroy" value
post_form /xend/domain/wire1 reason halt op destroy
got "xm destroy of a destroyed domain: invalid domain" 'error:^invalid domain:wire1$'

# -a: the names, then each except Domain-0
http_get /xend/domain/
for n in $(atoms); do
    [ "$n" = Domain-0 ] && continue
    post_form "/xend/domain/$n" reason poweroff op shutdown
    got "xm shutdown -a: $n" value
done

http_get /xend/node/
got "xend serves after the whole session" value

echo "# -F of a file without a final newline: $WIRE6"
finish
