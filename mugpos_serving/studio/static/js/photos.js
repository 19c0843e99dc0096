// Photos for History, kept in this browser only (IndexedDB, by the image's sha256): the API
// stores analyses, never images. A downscaled JPEG (1024 px at most) is kept, the 60 newest.
// Where a photo is not here (another browser, forgotten), History draws the boxes on a blank.

const DB = "mugpos-studio";
const STORE = "photos";
const KEEP = 60;
const MAX_SIDE = 1024;

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "sha256" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

async function downscale(blob) {
  const bitmap = await createImageBitmap(blob);
  const k = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * k);
  canvas.height = Math.round(bitmap.height * k);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
}

export async function savePhoto(sha256, blob) {
  try {
    const small = await downscale(blob);
    if (!small) return;
    const db = await open();
    const tx = db.transaction(STORE, "readwrite");
    const store = tx.objectStore(STORE);
    store.put({ sha256, blob: small, saved: Date.now() });
    const all = store.getAll();
    all.onsuccess = () => {
      const items = all.result.sort((a, b) => b.saved - a.saved);
      for (const old of items.slice(KEEP)) store.delete(old.sha256);
    };
    await done(tx);
    db.close();
  } catch (_) {
    // Storage full or unavailable (private mode): History falls back to drawings.
  }
}

export async function loadPhoto(sha256) {
  try {
    const db = await open();
    const tx = db.transaction(STORE, "readonly");
    const req = tx.objectStore(STORE).get(sha256);
    const item = await new Promise((resolve) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => resolve(null);
    });
    db.close();
    return item ? item.blob : null;
  } catch (_) {
    return null;
  }
}

export async function forgetPhotos() {
  const db = await open();
  const tx = db.transaction(STORE, "readwrite");
  tx.objectStore(STORE).clear();
  await done(tx);
  db.close();
}
