from services.kit.runtime import run_service_process
from services.notifications.main import NAME, serve

run_service_process(NAME, serve)
