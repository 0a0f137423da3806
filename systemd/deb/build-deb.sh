#!/usr/bin/env bash
# Builds ringhttpd_VERSION_ARCH.deb from a meson build directory configured
# with --prefix=/usr --sysconfdir=/etc (make deb does): `meson install` into
# a staging tree, a man page from --help (help2man), Depends computed by
# dpkg-shlibdeps from the binary's libraries, md5sums, and dpkg-deb with
# root-owned files. Prints the path of the package it wrote.
#   systemd/deb/build-deb.sh BUILD_DIR [OUTPUT_DIR]
set -euo pipefail

build=$(realpath "${1:?usage: build-deb.sh BUILD_DIR [OUTPUT_DIR]}")
out=$(realpath "${2:-$build}")
here=$(dirname "$(realpath "$0")")

options=$(meson introspect --buildoptions "$build")
option() { python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]==sys.argv[1]))' "$1" <<<"$options"; }
if [ "$(option prefix)" != /usr ] || [ "$(option sysconfdir)" != /etc ]; then
  echo "build-deb.sh: $build has prefix $(option prefix) and sysconfdir $(option sysconfdir); a package needs /usr and /etc" >&2
  exit 2
fi
version=$(meson introspect --projectinfo "$build" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
changelog_version=$(sed -n '1s/^ringhttpd (\([^)]*\)).*/\1/p' "$here/changelog")
if [ "$version" != "$changelog_version" ]; then
  echo "build-deb.sh: meson.build says version $version, systemd/deb/changelog says $changelog_version" >&2
  exit 2
fi
arch=$(dpkg --print-architecture)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# dpkg-shlibdeps expects the files where debhelper stages them: debian/PACKAGE.
root="$work/debian/ringhttpd"
meson install -C "$build" --destdir "$root" --no-rebuild --quiet >/dev/null
# Debian's debhelper strips binaries the same way (the symbols would go to a
# -dbgsym package).
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/ringhttpd"

doc="$root/usr/share/doc/ringhttpd"
install -m 644 "$here/copyright" "$doc/copyright"
gzip -9n < "$here/changelog" > "$doc/changelog.gz"
chmod 644 "$doc/changelog.gz"
install -D -m 644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/ringhttpd"
mkdir -p "$root/usr/share/man/man8"
help2man --no-info --section 8 --name "static HTTP/1.1 origin server on io_uring" \
  --version-string "$version" "$build/src/ringhttpd" | gzip -9n > "$root/usr/share/man/man8/ringhttpd.8.gz"
chmod 644 "$root/usr/share/man/man8/ringhttpd.8.gz"

# dpkg-shlibdeps reads debian/control for the package's name, and finds the
# package's root by its DEBIAN directory.
mkdir -p "$work/debian" "$root/DEBIAN"
printf 'Source: ringhttpd\n\nPackage: ringhttpd\nArchitecture: any\n' > "$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O -edebian/ringhttpd/usr/bin/ringhttpd | sed -n 's/^shlibs:Depends=//p')
if [ -z "$depends" ]; then
  echo "build-deb.sh: dpkg-shlibdeps found no libraries for usr/bin/ringhttpd" >&2
  exit 1
fi

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$size/" \
    -e "s/@DEPENDS@/$depends/" "$here/control.in" > "$root/DEBIAN/control"
install -m 755 "$here/postinst" "$here/prerm" "$here/postrm" "$root/DEBIAN/"
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) > "$root/DEBIAN/conffiles"
# md5sums leaves the conffiles out, as dh_md5sums does (dpkg keeps their sums).
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\n' |
  LC_ALL=C sort | xargs md5sum) > "$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
find "$root" -type d -exec chmod 755 {} +

package="$out/ringhttpd_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$package" >/dev/null
echo "$package"
