#!/bin/sh
# The image's default command (installed as /usr/local/bin/vm-run): runs one process of
# the Procfile, named by the first argument or by VM_PROCESS.
#   identity | catalog | billing | documents | tickets | notifications
#                                                       python -m services.<name>
#   catalog-worker                                      catalog's bulk worker
#   documents-worker                                    documents' reports worker
#   notifications-worker                                notifications' webhook deliveries
#   gateway                                             python -m gateway
#   devsink                                             the development message sink
#   demo                                                python -m demo (load the demo data once)
# devsink and demo need the image's `dev` target (deploy/Dockerfile): the runtime target
# has neither their packages (aiosmtpd, rich) nor their use.
set -eu

process="${1:-${VM_PROCESS:-}}"
case "$process" in
  identity | catalog | billing | documents | tickets | notifications)
    exec python -m "services.$process"
    ;;
  catalog-worker)
    exec python -m services.catalog.bulk_worker
    ;;
  documents-worker)
    exec python -m services.documents.worker
    ;;
  notifications-worker)
    exec python -m services.notifications.worker
    ;;
  gateway)
    exec python -m gateway
    ;;
  devsink)
    # Other containers must reach it: listen on every interface.
    export VM_DEVSINK_HOST="${VM_DEVSINK_HOST:-0.0.0.0}"
    exec python -m deploy.devsink
    ;;
  demo)
    exec python -m demo
    ;;
  *)
    echo "vm-run: name a process (argument or VM_PROCESS): identity, catalog, catalog-worker, billing," \
      "documents, documents-worker, tickets, notifications, notifications-worker, gateway, devsink" \
      "or demo; got '${process}'" >&2
    exit 64
    ;;
esac
