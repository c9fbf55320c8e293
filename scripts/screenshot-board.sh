#!/usr/bin/env bash
# Renders the web board of a seeded live run (the README's walk-through: Dana commands, Lee and Sam respond) with
# headless Chromium at desktop and phone width, into docs/board.png (1280×900) and docs/board-phone.png (390×844).
# Needs: swift, chromium (Debian: apt-get install -y chromium), curl. Uses a throw-away MUSTER_HOME and port.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product muster >/dev/null
muster="$(swift build --show-bin-path)/muster"
work="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export MUSTER_HOME="$work/home"
dana=$("$muster" users add Dana --admin 2>/dev/null); lee=$("$muster" users add Lee 2>/dev/null); sam=$("$muster" users add Sam 2>/dev/null)
"$muster" serve --host 127.0.0.1 --port 0 --playbooks playbooks --exercises exercises >"$work/serve.out" 2>"$work/serve.err" &
server=$!
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's|.*muster: serving .* on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/serve.out" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.2
done
[ -n "$port" ] || { echo "muster serve did not start" >&2; cat "$work/serve.err" >&2; exit 1; }
base="http://127.0.0.1:$port"
call() { curl -sf -X POST -H "Authorization: Bearer $1" -H "Content-Type: application/json" -d "$3" "$base$2"; }
run=$(call "$dana" /api/runs '{"playbook":"ransomware-file-servers","title":"Finance shares encrypted","disruption_started":"20m"}' | python3 -c "import json,sys; print(json.load(sys.stdin)[\"id\"])")
call "$dana" "/api/runs/$run/commands" '{"type":"assign","role":"it_ops","person":"Lee"}' >/dev/null
call "$dana" "/api/runs/$run/commands" '{"type":"assign","role":"security_lead","person":"Sam"}' >/dev/null
call "$lee" "/api/runs/$run/commands" '{"type":"task-done","task":"confirm","note":"EDR shows mass renames on FS01"}' >/dev/null
call "$dana" "/api/runs/$run/commands" '{"type":"note","text":"Bridge open: Teams, Finance-IR"}' >/dev/null
call "$sam" "/api/runs/$run/commands" '{"type":"task-done","task":"preserve-evidence","note":"Images of FS01 on the evidence share"}' >/dev/null
for shot in "board.png 1280,900" "board-phone.png 390,844"; do
    set -- $shot
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
      --user-data-dir="$work/profile-$1" --virtual-time-budget=4000 --window-size="$2" \
      --screenshot="$PWD/docs/$1" "$base/#run=$run&token=$dana" 2>/dev/null
    echo "wrote docs/$1"
done
