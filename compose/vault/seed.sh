#!/bin/sh
# Seeds Vault (dev mode) with KV v2 at secret/ and the ExchangeRate-API key path the
# library reads (MAKERATES_VAULT_KEY_PATH=makerates/exchangerate-api).
set -e
vault secrets list | grep -q '^secret/' || vault secrets enable -path=secret kv-v2
if [ -n "$EXCHANGERATE_API_KEY" ]; then
  vault kv put -mount=secret makerates/exchangerate-api \
    api_key="$EXCHANGERATE_API_KEY" created_at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
else
  echo "EXCHANGERATE_API_KEY is empty: the free sources will be used"
fi
