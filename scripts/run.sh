#!/usr/bin/env bash
# `make run`: a dev Vault (unless VAULT_ADDR is set), migrations, the demo organisation `acme`,
# a fresh SCIM token, then gunicorn in the foreground. Ctrl-C stops everything this started.
# In development it leaves .run/dev.env (mode 0600: the dev Vault's address and root token, the
# database and port) so that `flask --app app …` in another terminal reaches the same services;
# it is removed again on exit (fluid_scim/dev_env.py).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PORT=${PORT:-8000}
export FLUID_ENV=${FLUID_ENV:-development}
export FLUID_PUBLIC_PORT=${FLUID_PUBLIC_PORT:-$PORT}
export PORT
FLASK="$VENV/bin/flask --app app"
pids=()
dev_vault=
wrote_dev_env=
mkdir -p .run
# One left by a run that was killed outright would point this run's commands at its old settings.
rm -f .run/dev.env

cleanup() {
  trap - EXIT INT TERM
  if [ -n "$wrote_dev_env" ]; then rm -f .run/dev.env; fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${VAULT_ADDR:-}" ]; then
  vault_port=${FLUID_DEV_VAULT_PORT:-8200}
  export VAULT_ADDR="http://127.0.0.1:${vault_port}"
  export VAULT_TOKEN
  VAULT_TOKEN=$("$VENV/bin/python" -c 'import secrets; print("dev-" + secrets.token_hex(16))')
  "$VENV/bin/bao" server -dev -dev-root-token-id="$VAULT_TOKEN" \
    -dev-listen-address="127.0.0.1:${vault_port}" >.run/openbao.log 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "$VAULT_ADDR/v1/sys/health" >/dev/null 2>&1 && break
    kill -0 "${pids[0]}" 2>/dev/null || { echo "the dev Vault did not start; see .run/openbao.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "Dev Vault (OpenBao, in memory) at $VAULT_ADDR" >&2
  dev_vault=--vault
fi

$FLASK db upgrade 2>.run/migrate.log || { cat .run/migrate.log >&2; exit 1; }
if ! $FLASK org list 2>/dev/null | awk 'NR > 1 {print $1}' | grep -qx acme; then
  $FLASK org create acme --name "Acme (demo)" 2>/dev/null
fi
token=$($FLASK org token generate acme 2>.run/token.log) || { cat .run/token.log >&2; exit 1; }
tenant_url=$($FLASK org list 2>/dev/null | awk '$1 == "acme" {print $NF}')

"$VENV/bin/gunicorn" wsgi:app &
pids+=($!)
server_pid=$!
# The webhook delivery worker (outbox -> signed POSTs); stopped with everything else on Ctrl-C.
$FLASK events worker >.run/events-worker.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:${PORT}/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "gunicorn did not start" >&2; exit 1; }
  sleep 0.1
done

origin=${tenant_url%/scim/v2}
if admin=$($FLASK admin-token acme --url --ttl 900 2>.run/admin-token.log); then
  console="Admin console (signed in for 15 minutes): $(tail -n 1 <<<"$admin")"
else  # e.g. FLUID_ADMIN_JWT_ALGORITHM=RS256: only Fluid issues credentials then
  console="Admin console: ${origin}/admin (no signed-in link: see .run/admin-token.log)"
fi
another_terminal=
if [ "$FLUID_ENV" = development ]; then
  # Written last, so that a second terminal never sees the file of a start-up that failed.
  wrote_dev_env=1
  "$VENV/bin/python" -m fluid_scim.dev_env write $dev_vault
  another_terminal="In another terminal, $FLASK … uses this database${dev_vault:+ and dev Vault} (.run/dev.env)"$'\n'
fi

cat <<MSG
Tenant URL: ${tenant_url}
SCIM token: ${token}
Try it:
  curl -H "Authorization: Bearer ${token}" ${tenant_url}/ServiceProviderConfig
${console}
GraphiQL: ${origin}/graphql (header "Authorization: Bearer <the console link's #token=…>")
${another_terminal}Serving on http://127.0.0.1:${PORT}; webhook worker log in .run/events-worker.log
(Ctrl-C stops the server, the webhook worker and the dev Vault).
MSG
wait "$server_pid"
