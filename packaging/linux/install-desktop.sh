#!/bin/sh
# Install (or remove) the SVD Studio launcher, icons and MIME types for the current user.
#
#   packaging/linux/install-desktop.sh                 # uses `svdstudio` found on PATH (active venv)
#   packaging/linux/install-desktop.sh --exec PATH     # e.g. .venv/bin/svdstudio or
#                                                      #      dist/SVDStudio/SVDStudio (the bundle)
#   packaging/linux/install-desktop.sh --uninstall     # removes everything it installed
#
# Files go under ${XDG_DATA_HOME:-~/.local/share}: applications/<id>.desktop (Exec= is the
# absolute path of the program, so the launcher works without an activated venv),
# icons/hicolor/<N>x<N>/apps/<id>.png and scalable/apps/<id>.svg, mime/packages/<id>.xml.
# Caches are refreshed when update-desktop-database, update-mime-database and
# gtk-update-icon-cache exist. No root needed; nothing outside the user's data folder is touched.
set -eu

APP_ID=io.github.svdstudio.SVDStudio
SIZES="16 24 32 48 64 128 256 512"
HERE=$(cd "$(dirname "$0")" && pwd)
ICONS_SRC="$HERE/../../resources/icons"
DATA=${XDG_DATA_HOME:-"$HOME/.local/share"}

usage() {
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
    echo "install-desktop.sh: $*" >&2
    exit 1
}

refresh_caches() {
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$DATA/applications" 2>/dev/null || true
    fi
    if command -v update-mime-database >/dev/null 2>&1 && [ -d "$DATA/mime" ]; then
        update-mime-database "$DATA/mime" >/dev/null 2>&1 || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -d "$DATA/icons/hicolor" ]; then
        gtk-update-icon-cache -q -t -f "$DATA/icons/hicolor" 2>/dev/null || true
    fi
}

uninstall() {
    rm -f "$DATA/applications/$APP_ID.desktop" "$DATA/mime/packages/$APP_ID.xml" \
        "$DATA/icons/hicolor/scalable/apps/$APP_ID.svg"
    for size in $SIZES; do
        rm -f "$DATA/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
    done
    refresh_caches
    echo "Removed the SVD Studio launcher, icons and MIME types from $DATA"
}

EXEC=""
MODE=install
while [ $# -gt 0 ]; do
    case "$1" in
        --uninstall) MODE=uninstall ;;
        --exec)
            [ $# -ge 2 ] || die "--exec needs a path"
            EXEC=$2
            shift
            ;;
        --exec=*) EXEC=${1#--exec=} ;;
        -h | --help)
            usage
            exit 0
            ;;
        *) die "unknown option '$1' (try --help)" ;;
    esac
    shift
done

if [ "$MODE" = uninstall ]; then
    uninstall
    exit 0
fi

if [ -z "$EXEC" ]; then
    EXEC=$(command -v svdstudio 2>/dev/null) ||
        die "no 'svdstudio' on PATH: activate the venv it is installed in, or pass --exec PATH"
fi
case "$EXEC" in
    /*) ;;
    *) EXEC="$(cd "$(dirname "$EXEC")" && pwd)/$(basename "$EXEC")" ;;
esac
[ -f "$EXEC" ] && [ -x "$EXEC" ] || die "$EXEC is not an executable file"
[ -f "$ICONS_SRC/svdstudio.svg" ] || die "icons not found in $ICONS_SRC (run from a source checkout)"

# Desktop Entry spec: quote an argument holding spaces or reserved characters; inside the
# quotes, escape " ` $ and \ with a backslash.
case "$EXEC" in
    *[!A-Za-z0-9_./+-]*)
        EXEC_FIELD="\"$(printf '%s' "$EXEC" | sed 's/[\\"`$]/\\&/g')\""
        ;;
    *) EXEC_FIELD=$EXEC ;;
esac
# sed replacement text: escape \ & and the | delimiter.
EXEC_SED=$(printf '%s' "$EXEC_FIELD" | sed 's/[\\&|]/\\&/g')
TRY_SED=$(printf '%s' "$EXEC" | sed 's/[\\&|]/\\&/g')

mkdir -p "$DATA/applications" "$DATA/mime/packages" "$DATA/icons/hicolor/scalable/apps"
sed -e "s|^Exec=.*|Exec=$EXEC_SED %f|" -e "/^Exec=/a\\
TryExec=$TRY_SED" "$HERE/$APP_ID.desktop" >"$DATA/applications/$APP_ID.desktop.tmp"
mv "$DATA/applications/$APP_ID.desktop.tmp" "$DATA/applications/$APP_ID.desktop"
cp "$HERE/$APP_ID.xml" "$DATA/mime/packages/$APP_ID.xml"
cp "$ICONS_SRC/svdstudio.svg" "$DATA/icons/hicolor/scalable/apps/$APP_ID.svg"
for size in $SIZES; do
    mkdir -p "$DATA/icons/hicolor/${size}x${size}/apps"
    cp "$ICONS_SRC/svdstudio-$size.png" "$DATA/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
done
refresh_caches
echo "Installed the SVD Studio launcher in $DATA/applications (Exec: $EXEC)"
echo "Remove it with: $0 --uninstall"
