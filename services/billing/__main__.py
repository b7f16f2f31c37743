from services.billing.main import NAME, serve
from services.kit.runtime import run_service_process

run_service_process(NAME, serve)
