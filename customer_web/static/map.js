// The map: the customer's address and, when the API gives it, the driver's approximate
// position, gliding from one position to the next. Leaflet is loaded only when the page has
// something to show (the text of the page never waits for it) and comes from this backend.
// Markers are HTML (divIcon) and vector circles: no marker images. When the tiles cannot be
// loaded the markers stay on a plain background and the page says so.

const LEAFLET = "/track-assets/vendor/leaflet";
const DEFAULT_TILES = "/tiles/{z}/{x}/{y}.png";
const DEFAULT_ATTRIBUTION = "\u00a9 OpenStreetMap contributors";
const GLIDE_MS = 1500;
const TILE_TIMEOUT_MS = 8000; // no tile after this long: the background is unavailable

let leafletLoading = null;

function loadLeaflet() {
  if (window.L) return Promise.resolve(window.L);
  if (!leafletLoading) {
    leafletLoading = new Promise((resolve, reject) => {
      const css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = `${LEAFLET}/leaflet.css`;
      document.head.prepend(css); // before track.css, which overrides some of it
      const script = document.createElement("script");
      script.src = `${LEAFLET}/leaflet.js`;
      script.onload = () => resolve(window.L);
      script.onerror = () => reject(new Error("Leaflet did not load"));
      document.head.append(script);
    });
  }
  return leafletLoading;
}

/** An HTML marker (no image): `size` CSS pixels square, its point at `anchor`. */
function pin(L, kind, size, anchor) {
  const html = "<span></span>";
  return L.divIcon({ className: `pin ${kind}`, html, iconSize: [size, size], iconAnchor: anchor });
}

const reducedMotion = () => window.matchMedia("(prefers-reduced-motion: reduce)").matches;

export class TrackingMap {
  /** `container`: the map's element; `onTiles(ok)`: told whether the background loads. */
  constructor(container, onTiles) {
    this.container = container;
    this.onTiles = onTiles;
    this.map = null;
    this.home = null;
    this.driver = null; // {marker, area, target}
    this.glide = null;
    this.tilesLoaded = 0;
    this.fitted = false;
    this.userMoved = false;
  }

  /** Show `view`'s destination and driver; loads Leaflet the first time. */
  async show(view) {
    this.view = view;
    let L;
    try {
      L = await loadLeaflet();
    } catch (err) {
      this.container.classList.add("map--failed"); // the page's text still says it all
      return;
    }
    if (!this.map) this.create(L, view);
    else this.map.invalidateSize(); // the map may have been hidden meanwhile
    this.place(L, this.view);
  }

  create(L, view) {
    const settings = view.map || {};
    this.map = L.map(this.container, {
      attributionControl: false,
      scrollWheelZoom: false, // a page that scrolls: the wheel scrolls it
      zoomSnap: 0.5,
    });
    L.control.attribution({ prefix: false }).addTo(this.map);
    const tiles = L.tileLayer(settings.tile_url || DEFAULT_TILES, {
      attribution: settings.attribution || DEFAULT_ATTRIBUTION,
      maxZoom: 19,
    });
    tiles.on("tileload", () => {
      this.tilesLoaded += 1;
      this.tilesOk(true);
    });
    tiles.on("tileerror", () => this.tilesLoaded === 0 && this.tilesOk(false));
    tiles.addTo(this.map);
    setTimeout(() => this.tilesLoaded === 0 && this.tilesOk(false), TILE_TIMEOUT_MS);
    // A customer who moved the map keeps their view; the page re-centres only when the
    // driver would leave it.
    this.map.on("dragstart", () => { this.userMoved = true; });
    this.container.setAttribute("role", "region");
  }

  tilesOk(ok) {
    if (this.tilesState === ok) return;
    this.tilesState = ok;
    this.container.classList.toggle("map--no-tiles", !ok);
    this.onTiles(ok);
  }

  place(L, view) {
    const home = L.latLng(view.lat, view.lng);
    if (!this.home) {
      this.home = L.marker(home, {
        icon: pin(L, "pin--home", 30, [15, 30]),
        interactive: false,
        keyboard: false,
        title: "Your address",
      }).addTo(this.map);
    } else {
      this.home.setLatLng(home);
    }
    const position = view.driver_position;
    if (!position) {
      this.removeDriver();
    } else {
      const target = L.latLng(position.lat, position.lng);
      if (!this.driver) {
        this.driver = {
          area: L.circle(target, {
            radius: position.approx_m || 100, className: "driver-area", interactive: false,
          }).addTo(this.map),
          marker: L.marker(target, {
            icon: pin(L, "pin--driver", 26, [13, 13]),
            interactive: false,
            keyboard: false,
            title: "Your driver (approximate position)",
          }).addTo(this.map),
          target,
        };
      } else if (!this.driver.target.equals(target)) {
        this.driver.area.setRadius(position.approx_m || 100);
        this.glideTo(target);
      }
    }
    this.frame(L);
  }

  removeDriver() {
    if (!this.driver) return;
    cancelAnimationFrame(this.glide);
    this.driver.marker.remove();
    this.driver.area.remove();
    this.driver = null;
    this.fitted = false;
  }

  /** Move the driver's marker to `target` smoothly (at once for reduced motion). */
  glideTo(target) {
    const driver = this.driver;
    cancelAnimationFrame(this.glide);
    driver.target = target;
    const from = driver.marker.getLatLng();
    const set = (latlng) => {
      driver.marker.setLatLng(latlng);
      driver.area.setLatLng(latlng);
    };
    if (reducedMotion()) {
      set(target);
      return;
    }
    const started = performance.now();
    const step = (now) => {
      const k = Math.min(1, (now - started) / GLIDE_MS);
      const ease = k < 0.5 ? 2 * k * k : 1 - (-2 * k + 2) ** 2 / 2;
      set([from.lat + (target.lat - from.lat) * ease, from.lng + (target.lng - from.lng) * ease]);
      if (k < 1) this.glide = requestAnimationFrame(step);
    };
    this.glide = requestAnimationFrame(step);
  }

  /** Keep the address and the driver in view. */
  frame(L) {
    const points = [this.home.getLatLng()];
    if (this.driver) points.push(this.driver.target);
    if (points.length === 1) {
      if (!this.fitted) this.map.setView(points[0], 16);
      this.fitted = true;
      return;
    }
    const bounds = L.latLngBounds(points);
    const view = this.fitted ? this.map.getBounds() : null;
    const refit = !view || !view.contains(bounds) ||
      (!this.userMoved && !view.pad(-0.1).contains(bounds)); // nearing the edge
    if (refit) {
      // The home pin stands above its point: more room at the top.
      this.map.fitBounds(bounds, {
        paddingTopLeft: [36, 52], paddingBottomRight: [36, 28], maxZoom: 16, animate: this.fitted,
      });
      this.fitted = true;
    }
  }
}
