#!/usr/bin/env bash
# release.yml: after a release tag vMAJOR.MINOR.PATCH is pushed, point the major tag (vMAJOR)
# at the HIGHEST vMAJOR.x.y release on the remote. Never at an older one: pushing a backport
# (v1.1.5 after v1.2.0) leaves v1 where it is. The remote's tags are read when the job runs,
# not this checkout's, so runs that queue behind each other (the workflow's concurrency
# group) each converge on the same answer, whatever order they run in.
set -euo pipefail
tag="${TAG:?TAG is the pushed tag, e.g. v1.2.3}"
if [[ ! "$tag" =~ ^v([0-9]+)\.[0-9]+\.[0-9]+$ ]]; then
  echo "::error title=release::$tag is not a release tag vMAJOR.MINOR.PATCH"
  exit 2
fi
major="v${BASH_REMATCH[1]}"

# `ref -> commit` of one tag on the remote (annotated tags peeled), or nothing.
remote_commit() {
  git ls-remote --tags origin "refs/tags/$1" "refs/tags/$1^{}" |
    awk '{ commit = $1; if ($2 ~ /\^\{\}$/) { peeled = $1 } } END { print (peeled ? peeled : commit) }'
}

# Every vMAJOR.x.y on the remote, highest last (numeric, so v1.10.0 comes after v1.9.0).
highest="$(git ls-remote --tags --refs origin |
  sed -n "s|^[0-9a-f]*[[:space:]]*refs/tags/\\($major\\.[0-9][0-9]*\\.[0-9][0-9]*\\)\$|\\1|p" |
  sort -t. -k2,2n -k3,3n | tail -n 1)"
if [ -z "$highest" ]; then
  echo "::error title=release::$tag is not on the remote"
  exit 3
fi
if [ "$highest" != "$tag" ]; then
  echo "$tag is not the highest $major release ($highest is): $major goes to $highest, never back"
fi
target="$(remote_commit "$highest")"
current="$(remote_commit "$major")"
if [ "$current" = "$target" ]; then
  echo "$major is already at $highest ($target)"
  exit 0
fi
git fetch --quiet --no-tags --depth=1 origin "refs/tags/$highest"
git push --force origin "$target:refs/tags/$major"
echo "$major moved to $highest ($target)"
