#!/usr/bin/env bash
# The audited read over HTTP (docs/BENCHMARKS.md), for two lanyard binaries
# side by side in one run: each gets its own demo register, user and server,
# and the two are measured in alternating rounds with wrk, /healthz first as
# the ceiling. Prints one line per round: label, endpoint, requests/s, p50,
# p99, and how many answers were not 2xx (0, or the figure means nothing).
#
#   bench/audited_read_ab.sh OLD_BINARY NEW_BINARY [ROUNDS] [SECONDS]
#
# Needs wrk and python3 (for the TOTP code; standard library only).
set -euo pipefail
old=$1 new=$2 rounds=${3:-3} secs=${4:-15}
work=$(mktemp -d /var/tmp/lanyard-ab.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export LANYARD_PASSPHRASE='bench passphrase 123'
password='a long bench password'

totp() { # base32 secret -> current 6-digit code (RFC 6238, SHA-1, 30 s)
  python3 - "$1" <<'EOF'
import base64, hmac, struct, sys, time
key = base64.b32decode(sys.argv[1].upper() + "=" * (-len(sys.argv[1]) % 8))
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), "sha1").digest()
o = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
EOF
}

declare -A base cookie person
port=18450
for label in old new; do
  bin=${!label}
  dir=$work/$label
  export LANYARD_DATA_DIR=$dir/data
  "$bin" demo --people 2000 --no-serve --data-dir "$LANYARD_DATA_DIR" > "$dir.demo.log" 2>&1
  secret=$(echo "$password" | "$bin" --json user add ida --role id_officer --password-stdin \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["totp_secret"])')
  person[$label]=$("$bin" --json person list --limit 5 | python3 -c \
    'import json,sys; v=json.load(sys.stdin); rows=v if isinstance(v,list) else v.get("people",v.get("items",[])); print([r for r in rows if not r.get("protected")][0]["id"])')
  "$bin" serve --listen 127.0.0.1:$port --reads-per-minute 1000000 --read-burst 1000000 \
    > "$dir.serve.log" 2>&1 &
  base[$label]=http://127.0.0.1:$port
  for _ in $(seq 1 50); do curl -sf "${base[$label]}/healthz" > /dev/null && break; sleep 0.2; done
  curl -sf -c "$dir.jar" -H 'content-type: application/json' \
    -d "{\"name\":\"ida\",\"password\":\"$password\",\"code\":\"$(totp "$secret")\"}" \
    "${base[$label]}/v1/login" > /dev/null
  cookie[$label]=$(awk '$6 == "lanyard_session" { print $7 }' "$dir.jar")
  port=$((port + 1))
done

run() { # label endpoint-name url [headers...]
  local label=$1 name=$2 url=$3; shift 3
  local out
  out=$(wrk -t2 -c64 -d"${secs}s" --latency "$@" "$url")
  local rps p50 p99
  rps=$(awk '/^Requests\/sec/ { print $2 }' <<< "$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<< "$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<< "$out")
  # Any answer but 200 would make the figure meaningless: say so.
  bad=$(awk '/Non-2xx or 3xx responses/ { print $NF }' <<< "$out")
  echo "$label $name $rps $p50 $p99 non2xx=${bad:-0}"
}

for r in $(seq 1 "$rounds"); do
  for label in old new; do
    run "$label" healthz "${base[$label]}/healthz"
    run "$label" read "${base[$label]}/v1/people/${person[$label]}?compartments=identity" \
      -H "Cookie: lanyard_session=${cookie[$label]}" -H 'X-Lanyard-Purpose: card renewal'
    # With a free-text note, which the new code seals into each event.
    run "$label" read+note "${base[$label]}/v1/people/${person[$label]}?compartments=identity" \
      -H "Cookie: lanyard_session=${cookie[$label]}" -H 'X-Lanyard-Purpose: card renewal: desk visit'
  done
done
