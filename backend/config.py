"""Settings, read from the environment (and an optional ``.env``) when asked, never at import."""

from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from backend.pod.failures import FailureReason, FollowUp

DEFAULT_SECRET = "dev-insecure-secret-change-me-in-production"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Everything deployment-specific. Environment variables use the ``LASTMILE_`` prefix,
    except the conventional ``DATABASE_URL`` and ``REDIS_URL``."""

    model_config = SettingsConfigDict(env_prefix="LASTMILE_", env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Field(default=Path("data"), description="SQLite file, proof files, regions")
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "LASTMILE_DATABASE_URL"),
        description="SQLAlchemy async URL; default: SQLite file in the data dir",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "LASTMILE_REDIS_URL"),
        description="optional; without it pub/sub is in-process",
    )
    mqtt_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("LASTMILE_MQTT_URL", "MQTT_URL"),
        description="MQTT ingest: subscribe to this broker, e.g. mqtt://user:pass@host:1883 "
        "(mqtts:// for TLS); empty: off. See backend/mqtt",
    )
    mqtt_client_id: str = Field(
        default="lastmile-backend",
        min_length=1,
        max_length=128,
        description="MQTT client id, stable across restarts (the broker keeps its session); "
        "one per backend process",
    )
    mqtt_topic_prefix: str = Field(
        default="lastmile",
        pattern=r"^[^/+#$][^/+#]*$",
        description="our app's topics: PREFIX/{org}/drivers/{device}/locations",
    )
    mqtt_shared_group: str = Field(
        default="",
        pattern=r"^[^/+#]*$",
        description="empty: a plain subscription (one MQTT-ingesting process); GROUP: subscribe "
        "as $share/GROUP/... so each message goes to one of several processes (Mosquitto 2.0 "
        "does not keep a shared subscription across its own restart: see README, MQTT ingest)",
    )
    secret_key: str = Field(
        default=DEFAULT_SECRET, min_length=32, description="signs tokens; 32+ chars"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="base of the tracking links sent to customers"
    )
    tile_url: str = Field(
        default="/tiles/{z}/{x}/{y}.png", description="map tiles; relative means this backend"
    )
    tile_attribution: str = Field(
        default="© OpenStreetMap contributors",
        description="credit shown under maps drawn from the tiles (the data's licence asks for it)",
    )
    routing_url: str | None = Field(default=None, description="OSRM HTTP server; None: embedded")
    region: str = Field(
        default="monaco", description="routing region (data dir/regions/NAME) loaded at start"
    )
    routing_max_snap_m: float = Field(
        default=1000.0, gt=0, description="farther from any road than this is refused"
    )
    fallback_reach_m: float = Field(
        default=50_000.0,
        ge=0,
        description="straight-line estimates only this far outside a loaded region; "
        "farther is refused (no region loaded: no limit)",
    )
    fallback_detour_factor: float = Field(
        default=1.4, ge=1.0, description="straight-line estimate: road distance / crow distance"
    )
    fallback_speed_kmh: float = Field(
        default=25.0, gt=0, description="straight-line estimate speed"
    )
    geocoder: Literal["nominatim", "photon"] | None = Field(
        default=None,
        description="geocoder behind GET /api/v1/geocode; None: dispatchers pin addresses",
    )
    geocoder_url: str | None = Field(
        default=None,
        description="the geocoder's server, e.g. https://nominatim.example.org; "
        "empty: the service's public one",
    )
    access_token_ttl_s: int = Field(default=15 * 60, ge=30)
    refresh_token_ttl_s: int = Field(default=14 * 24 * 3600, ge=60)
    tracking_link_ttl_h: int = Field(default=72, ge=1)
    auto_migrate: bool = Field(default=True, description="run migrations at start")
    location_retention_days: float = Field(default=7.0, gt=0, description="history kept")
    location_max_clock_skew_s: float = Field(
        default=300.0, ge=0, description="fixes further in the future are refused"
    )
    location_max_age_s: float = Field(
        default=2 * 86_400.0, gt=0, description="older fixes are refused (offline replay limit)"
    )
    location_max_accuracy_m: float = Field(
        default=200.0, gt=0, description="fixes with a larger accuracy radius are refused"
    )
    location_max_speed_mps: float = Field(
        default=70.0, gt=0, description="faster implied speed between fixes is a GPS jump"
    )
    gc_full_every_s: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="a full garbage collection this often (0: only when Python decides; "
        "see backend/heap.py)",
    )
    location_commit_linger_ms: float = Field(
        default=2.0, ge=0, description="history group commit: how long to gather fixes"
    )
    geofence_arrival_m: float = Field(
        default=150.0, gt=0, description="a driver this close to a stop has arrived"
    )
    geofence_nearby_m: float = Field(
        default=500.0, gt=0, description="this close to a drop-off: the customer's 'arriving'"
    )
    geofence_dwell_s: float = Field(
        default=60.0, ge=0, description="inside a stop's fence this long: at the stop"
    )
    geofence_depot_m: float = Field(
        default=150.0, gt=0, le=5000, description="the radius of the fence around every depot"
    )
    off_route_m: float = Field(
        default=200.0,
        ge=20,
        le=5000,
        description="farther than this from the planned route for a minute: off route",
    )
    left_stop_grace_s: float = Field(
        default=120.0,
        ge=0,
        le=3600,
        description="after leaving an unserved stop, wait this long for the proof to come",
    )
    eta_refresh_every_s: float = Field(
        default=30.0,
        ge=1,
        le=600,
        description="a driver's ETAs are recomputed at least this often; one whose fixes "
        "stopped this long ago is recomputed as time passes (the ETAs slip)",
    )
    eta_publish_change_s: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description="a stop's ETA is stored and announced again once it moved this much",
    )
    driver_silent_after_min: float = Field(
        default=10.0,
        gt=0,
        le=24 * 60,
        description="exceptions inbox: a driver on shift whose last position is older than "
        "this many minutes (or who sent none) is listed as silent",
    )
    optimizer_engine: Literal["auto", "pyvrp", "ortools"] = Field(
        default="auto",
        description="route solver: auto picks PyVRP unless skills, breaks or soft windows "
        "need OR-Tools; a planning request may still ask for one",
    )
    optimization_stale_after_s: float = Field(
        default=15.0,
        ge=2,
        le=600,
        description="a queued or running planning job whose worker wrote nothing for this "
        "long (it died or restarted) is shown as failed",
    )
    pod_max_upload_mb: float = Field(
        default=15.0, gt=0, le=100, description="largest photo or label image accepted, in MB"
    )
    pod_quota_mb: float | None = Field(
        default=None,
        gt=0,
        description="most the local proof store (data dir/proofs) may hold, in MB; a proof "
        "past it is refused with a 507 and nothing stored (empty: only the disk's limit)",
    )
    pod_radius_m: float = Field(
        default=200.0, gt=0, description="a proof taken further from the address is flagged"
    )
    pod_s3_bucket: str | None = Field(
        default=None,
        min_length=3,
        description="keep proof files in this S3-compatible bucket instead of the data dir "
        "(credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); the bucket must exist",
    )
    pod_s3_endpoint_url: str | None = Field(
        default=None,
        description="the S3-compatible server (MinIO, Ceph RGW, R2...); empty: AWS S3",
    )
    pod_s3_region: str | None = Field(default=None, description="the bucket's region")
    pod_s3_prefix: str = Field(default="proofs", description="key prefix in the bucket")
    failure_follow_ups: dict[str, str] = Field(
        default_factory=dict,
        description="failed delivery: reason -> follow-up (reattempt_today, next_day, "
        "safe_place, return_to_depot), over the defaults; JSON in the environment",
    )
    tracking_guesses_per_min: float = Field(
        default=20,
        gt=0,
        le=10_000,
        description="unknown tracking tokens an address may try per minute (20 at once); "
        "then every tracking look-up from it is refused with 429 until one is back",
    )
    login_failures_per_account: int = Field(
        default=10,
        ge=1,
        le=1_000_000,
        description="failed sign-ins an account may have per login_failure_window_s; then "
        "every sign-in to it is refused with 429 until one is back (a correct one too)",
    )
    login_failures_per_ip: int = Field(
        default=30,
        ge=1,
        le=1_000_000,
        description="failed sign-ins and token refreshes a client address may have per "
        "login_failure_window_s (an office behind one address has several people)",
    )
    login_failure_window_s: float = Field(
        default=300, gt=0, le=86_400, description="the window of the sign-in limits, seconds"
    )
    security_hsts: bool = Field(
        default=False,
        description="send Strict-Transport-Security (one year): set it when the backend is "
        "only reached over https (behind a TLS proxy); https requests get it anyway",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="when set, GET /metrics wants 'Authorization: Bearer <this>'; "
        "otherwise it is open (keep it on a private network or behind the proxy)",
    )
    reattempt_after_min: float = Field(
        default=60,
        ge=0,
        le=720,
        description="a same-day re-attempt (customer out, no access) is planned no sooner "
        "than this many minutes after the failure",
    )
    dispatch_max_resequenced_stops: int = Field(
        default=3,
        ge=0,
        le=50,
        description="live insertion: how many of a route's other stops may move to make room",
    )

    sms_gateway_url: str | None = Field(
        default=None,
        description="customer SMS: POST {id, to, text} as JSON here; empty: SMS go to the log",
    )
    sms_gateway_token: SecretStr | None = Field(
        default=None, description="bearer token for the SMS gateway"
    )
    smtp_host: str | None = Field(
        default=None, description="customer email through this SMTP server; empty: no email"
    )
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=False, description="upgrade the SMTP connection to TLS")
    email_from: str = Field(
        default="Lastmile <no-reply@localhost>", description="From of customer emails"
    )
    notify_language: str = Field(
        default="en", min_length=2, max_length=16, description="language of customer notices"
    )
    notify_poll_s: float = Field(
        default=5.0, gt=0, le=300, description="how often the notification worker looks for retries"
    )
    notify_max_attempts: int = Field(
        default=8, ge=1, le=50, description="a notice that failed this many times is given up"
    )
    notify_retry_base_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="first retry after this many seconds, doubling each time (at most 1 h)",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="let webhook URLs reach loopback, private, link-local and other "
        "non-public addresses (off: refused, against server-side request forgery)",
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=60, description="a webhook receiver must answer within this"
    )
    webhook_retry_base_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="first webhook retry after about this many seconds, doubling each time "
        "(at most 1 h, ±20 % jitter)",
    )
    webhook_retry_for_h: float = Field(
        default=24.0, gt=0, le=24 * 7, description="a webhook delivery is retried this long"
    )
    webhook_poll_s: float = Field(
        default=5.0, gt=0, le=300, description="how often the webhook worker looks for retries"
    )

    @field_validator("failure_follow_ups")
    @classmethod
    def _known_follow_ups(cls, value: dict[str, str]) -> dict[str, str]:
        for reason, follow_up in value.items():
            try:
                FailureReason(reason)
                FollowUp(follow_up)
            except ValueError:
                raise ValueError(
                    f"failure_follow_ups: {reason!r} -> {follow_up!r}: reasons are "
                    f"{', '.join(FailureReason)}; follow-ups {', '.join(FollowUp)}"
                ) from None
        return value

    @field_validator("mqtt_url", mode="before")
    @classmethod
    def _empty_mqtt_url_is_off(cls, value: object) -> object:
        # `LASTMILE_MQTT_URL=` turns MQTT ingest off for one process (deploy/compose.yaml).
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: dict[str, object]) -> dict[str, object]:
        raw = data.get("cors_origins") if isinstance(data, dict) else None
        if isinstance(raw, str):
            data["cors_origins"] = [o.strip() for o in raw.split(",") if o.strip()]
        return data

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> "Settings":
        if self.environment is not Environment.DEVELOPMENT and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "LASTMILE_SECRET_KEY is still the development default; set a long random "
                f"secret for the '{self.environment}' environment"
            )
        return self

    @model_validator(mode="after")
    def _nearby_fence_wider_than_arrival(self) -> "Settings":
        if self.geofence_nearby_m <= self.geofence_arrival_m:
            raise ValueError(
                "LASTMILE_GEOFENCE_NEARBY_M must be wider than LASTMILE_GEOFENCE_ARRIVAL_M "
                f"(now {self.geofence_nearby_m:g} m and {self.geofence_arrival_m:g} m)"
            )
        return self

    @property
    def regions_dir(self) -> Path:
        return self.data_dir / "regions"

    @property
    def tiles_cache_dir(self) -> Path:
        return self.data_dir / "tiles"

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'lastmile.db').resolve()}"
