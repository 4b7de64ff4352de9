from pydantic import BaseModel


class ComponentHealth(BaseModel):
    ok: bool
    backend: str
    detail: str = ""


class Health(BaseModel):
    status: str  # "ok" or "degraded"
    version: str
    database: ComponentHealth
    broker: ComponentHealth
    # Where zone and nearest-driver queries run: "python", or "postgis" (in the database).
    spatial: str = "python"
