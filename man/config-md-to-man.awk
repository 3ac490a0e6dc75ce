# docs/config.md -> xend.conf(5): the settings tables become .TP entries under their
# section headings, so the man page and the docs have one source. Prose between tables is
# kept as paragraphs; code blocks as .nf/.fi; markdown links lose their targets.
function esc(s) {
    gsub(/\\/, "\\e", s)
    while (match(s, /\[[^]]*\]\([^)]*\)/)) {
        t = substr(s, RSTART, RLENGTH); sub(/\]\(.*/, "", t); sub(/^\[/, "", t)
        s = substr(s, 1, RSTART - 1) t substr(s, RSTART + RLENGTH)
    }
    while (match(s, /`[^`]*`/))
        s = substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART + 1, RLENGTH - 2) "\\fR" substr(s, RSTART + RLENGTH)
    gsub(/\*\*/, "", s)
    if (s ~ /^[.']/) s = "\\&" s
    return s
}
BEGIN { incode = 0; intable = 0 }
/^```/ { if (incode) { print ".fi"; incode = 0 } else { print ".PP"; print ".nf"; incode = 1 }; next }
incode { print esc($0); next }
/^# / { next }
/^## / { sub(/^## /, ""); print ".SH " toupper(esc($0)); intable = 0; next }
/^### / { sub(/^### /, ""); print ".SS " esc($0); intable = 0; next }
/^\|[-| ]+\|$/ { next }
/^\| / {
    n = split(substr($0, 3, length($0) - 4), cell, / \| /)
    if (!intable) { intable = 1; dflt = (cell[2] == "default"); next }   # the header row
    print ".TP"
    if (n >= 3 && dflt) {
        print esc(cell[1]) " (default " esc(cell[2]) ")"
        print esc(cell[n])
    } else {
        print esc(cell[1])
        body = esc(cell[2])
        for (i = 3; i <= n; i++) body = body " \\(em " esc(cell[i])
        print body
    }
    next
}
/^$/ { if (intable) intable = 0; print ".PP"; next }
{ intable = 0; print esc($0) }
