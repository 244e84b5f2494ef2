//! Process-wide settings of the SQLite library, made once before its first connection opens.
//!
//! By default SQLite allocates through the C library's `malloc` and keeps allocation statistics
//! behind a global mutex: a full sync's writer thread spent about a fifth of its time in glibc's
//! allocator and that mutex. Here SQLite allocates from mimalloc, the allocator the rest of the
//! process uses, and keeps no statistics (nothing reads them).

use std::os::raw::{c_int, c_void};
use std::sync::Once;

use libmimalloc_sys as mimalloc;
use libsqlite3_sys as sqlite;

static CONFIGURED: Once = Once::new();

/// Applies the settings. SQLite accepts them only before it first initialises; a process that
/// opened a SQLite database earlier (through another library) keeps SQLite's defaults.
pub fn configure() {
    CONFIGURED.call_once(|| {
        let methods = sqlite::sqlite3_mem_methods {
            xMalloc: Some(allocate),
            xFree: Some(free),
            xRealloc: Some(reallocate),
            xSize: Some(size),
            xRoundup: Some(round_up),
            xInit: Some(init),
            xShutdown: Some(shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: both options are documented to be set before `sqlite3_initialize`; SQLite
        // copies the methods and refuses (SQLITE_MISUSE, nothing changed) once initialised.
        let (statistics, allocator) = unsafe {
            (
                sqlite::sqlite3_config(sqlite::SQLITE_CONFIG_MEMSTATUS, 0 as c_int),
                sqlite::sqlite3_config(
                    sqlite::SQLITE_CONFIG_MALLOC,
                    &methods as *const sqlite::sqlite3_mem_methods,
                ),
            )
        };
        if statistics != sqlite::SQLITE_OK || allocator != sqlite::SQLITE_OK {
            tracing::debug!("SQLite was initialised before the store opened; its defaults stay");
        }
    });
}

unsafe extern "C" fn allocate(bytes: c_int) -> *mut c_void {
    // SAFETY: mimalloc's malloc takes any size.
    unsafe { mimalloc::mi_malloc(bytes.max(0) as usize) }
}

unsafe extern "C" fn free(pointer: *mut c_void) {
    // SAFETY: SQLite frees only what `allocate` or `reallocate` returned.
    unsafe { mimalloc::mi_free(pointer) }
}

unsafe extern "C" fn reallocate(pointer: *mut c_void, bytes: c_int) -> *mut c_void {
    // SAFETY: as `free`; SQLite never reallocates to zero bytes.
    unsafe { mimalloc::mi_realloc(pointer, bytes.max(0) as usize) }
}

unsafe extern "C" fn size(pointer: *mut c_void) -> c_int {
    // SAFETY: as `free`.
    let bytes = unsafe { mimalloc::mi_usable_size(pointer) };
    c_int::try_from(bytes).unwrap_or(c_int::MAX)
}

/// SQLite asks how much a request will really take; mimalloc's smallest steps are 8 bytes.
unsafe extern "C" fn round_up(bytes: c_int) -> c_int {
    (bytes + 7) & !7
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    sqlite::SQLITE_OK
}

unsafe extern "C" fn shutdown(_: *mut c_void) {}
