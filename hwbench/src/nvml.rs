//! Live discovery through NVML: `libnvidia-ml.so.1` is loaded at run time, so the build needs
//! no driver and a machine without one gets a clear error, never a panic.
//!
//! The calls go through `nvml-wrapper-sys`, the raw bindings under nvml-wrapper. nvml-wrapper
//! 0.13 itself would cover only the simple queries here (names, memory, clocks, MIG mode):
//! GPU- and compute-instance listing, v2 profile info (which carries the profile's name) and
//! placements are raw calls there too (its `possible_placements` returns an empty list), and
//! its derive macros switch on `syn`'s `extra-traits`, which rebuilds every crate of the
//! workspace (polars and HiGHS included). Each symbol is taken from the loaded library's table
//! and checked, so an old driver without it is an error, not a panic. This module is the
//! crate's only unsafe code: FFI calls with out-pointers to zero-initialised C structs, as
//! nvml.h documents them.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::{CStr, c_char};

use anyhow::{Context, Result, anyhow, bail};
use nvml_wrapper_sys::bindings as sys;

use crate::state::{
    ComputeInstanceState, DeviceState, GiProfileInfo, GpuInstanceState, GpuState, MigMode,
    ProcessInfo, STATE_FORMAT,
};

/// The error every command gives on a machine without an NVIDIA driver.
pub fn no_driver(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!(
        "no NVIDIA driver: NVML (libnvidia-ml.so.1) could not be loaded or initialised ({e}); \
         hwbench needs a machine with an NVIDIA GPU and driver (use --state FILE to work on a \
         recorded device state)"
    )
}

/// The loaded and initialised NVML library; shut down when dropped.
pub struct Nvml {
    lib: sys::NvmlLib,
}

impl Drop for Nvml {
    fn drop(&mut self) {
        if let Ok(f) = &self.lib.nvmlShutdown {
            // SAFETY: NVML was initialised by `open`; shutdown takes no arguments.
            unsafe { f() };
        }
    }
}

/// Opens NVML, or says clearly that there is no driver.
pub fn open() -> Result<Nvml> {
    // SAFETY: loading the driver's NVML library runs its initialisers, as any NVML user does.
    let lib = unsafe { sys::NvmlLib::new("libnvidia-ml.so.1") }.map_err(no_driver)?;
    let init = sym(&lib.nvmlInit_v2, "nvmlInit_v2").map_err(no_driver)?;
    // SAFETY: nvmlInit_v2 takes no arguments.
    let ret = unsafe { init() };
    check(ret, "nvmlInit_v2").map_err(no_driver)?;
    Ok(Nvml { lib })
}

/// Whether NVML can be loaded and initialised here.
pub fn driver_present() -> bool {
    open().is_ok()
}

/// Reads a NUL-terminated string an NVML call writes into a buffer of `len` bytes.
fn string(
    what: &str,
    len: u32,
    call: impl FnOnce(*mut c_char, u32) -> sys::nvmlReturn_t,
) -> Result<String> {
    let mut buf = vec![0 as c_char; len as usize];
    check(call(buf.as_mut_ptr(), len), what)?;
    *buf.last_mut().expect("buffers are not empty") = 0;
    // SAFETY: the buffer is NUL-terminated (its last byte was just set).
    let s = unsafe { CStr::from_ptr(buf.as_ptr()) };
    Ok(s.to_string_lossy().trim().to_string())
}

/// Discovers the machine: every GPU, its MIG mode, profiles, GPU and compute instances,
/// MIG device UUIDs and processes.
pub fn discover() -> Result<DeviceState> {
    let nvml = open()?;
    let lib = &nvml.lib;
    let f = sym(
        &lib.nvmlSystemGetDriverVersion,
        "nvmlSystemGetDriverVersion",
    )?;
    let driver_version = string(
        "nvmlSystemGetDriverVersion",
        sys::NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE,
        // SAFETY: a buffer of the given length.
        |b, n| unsafe { f(b, n) },
    )?;
    let nvml_version = sym(&lib.nvmlSystemGetNVMLVersion, "nvmlSystemGetNVMLVersion")
        .ok()
        .and_then(|f| {
            string(
                "nvmlSystemGetNVMLVersion",
                sys::NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE,
                // SAFETY: a buffer of the given length.
                |b, n| unsafe { f(b, n) },
            )
            .ok()
        });
    let cuda_driver_version = sym(
        &lib.nvmlSystemGetCudaDriverVersion_v2,
        "nvmlSystemGetCudaDriverVersion_v2",
    )
    .ok()
    .and_then(|f| {
        let mut v: i32 = 0;
        // SAFETY: an out-pointer to an int.
        (unsafe { f(&mut v) } == sys::nvmlReturn_enum_NVML_SUCCESS)
            .then(|| format!("{}.{}", v / 1000, (v % 1000) / 10))
    });
    let count_f = sym(&lib.nvmlDeviceGetCount_v2, "nvmlDeviceGetCount_v2")?;
    let mut count: u32 = 0;
    // SAFETY: an out-pointer to an unsigned int.
    check(unsafe { count_f(&mut count) }, "nvmlDeviceGetCount_v2")?;
    let mut gpus = Vec::new();
    for i in 0..count {
        gpus.push(discover_gpu(lib, i).with_context(|| format!("NVML: GPU {i}"))?);
    }
    let state = DeviceState {
        format: STATE_FORMAT.to_string(),
        source: "nvml".into(),
        driver_version,
        cuda_driver_version,
        nvml_version,
        gpus,
    };
    state.check("NVML discovery")?;
    Ok(state)
}

/// A raw NVML symbol from the loaded library, or an error naming it.
fn sym<'a, T, E: std::fmt::Display>(r: &'a Result<T, E>, name: &str) -> Result<&'a T> {
    r.as_ref()
        .map_err(|e| anyhow!("this driver's NVML lacks {name} ({e})"))
}

fn check(ret: sys::nvmlReturn_t, what: &str) -> Result<()> {
    if ret == sys::nvmlReturn_enum_NVML_SUCCESS {
        Ok(())
    } else {
        bail!("NVML {what} failed with error code {ret}")
    }
}

/// (pid, MiB, GI id, CI id) of every compute process; ids are `None` outside MIG.
type RawProcess = (u32, Option<u64>, Option<u32>, Option<u32>);

fn processes(lib: &sys::NvmlLib, handle: sys::nvmlDevice_t) -> Result<Vec<RawProcess>> {
    let f = sym(
        &lib.nvmlDeviceGetComputeRunningProcesses_v3,
        "nvmlDeviceGetComputeRunningProcesses_v3",
    )?;
    // Ask with room for 64 and grow if NVML says it needs more (processes can start between
    // the calls).
    let mut cap: u32 = 64;
    loop {
        // SAFETY: plain-C structs, zeroed; NVML writes at most `count` of them.
        let mut buf: Vec<sys::nvmlProcessInfo_t> =
            vec![unsafe { std::mem::zeroed() }; cap as usize];
        let mut count = cap;
        let ret = unsafe { f(handle, &mut count, buf.as_mut_ptr()) };
        if ret == sys::nvmlReturn_enum_NVML_ERROR_INSUFFICIENT_SIZE {
            cap = count.max(cap) * 2;
            continue;
        }
        if ret == sys::nvmlReturn_enum_NVML_ERROR_NOT_SUPPORTED {
            return Ok(Vec::new());
        }
        check(ret, "nvmlDeviceGetComputeRunningProcesses_v3")?;
        const NO_VALUE: u32 = u32::MAX;
        return Ok(buf[..count.min(cap) as usize]
            .iter()
            .map(|p| {
                (
                    p.pid,
                    (p.usedGpuMemory != u64::MAX).then_some(p.usedGpuMemory / (1024 * 1024)),
                    (p.gpuInstanceId != NO_VALUE).then_some(p.gpuInstanceId),
                    (p.computeInstanceId != NO_VALUE).then_some(p.computeInstanceId),
                )
            })
            .collect());
    }
}

fn process(p: &RawProcess) -> ProcessInfo {
    ProcessInfo {
        pid: p.0,
        name: std::fs::read_to_string(format!("/proc/{}/comm", p.0))
            .ok()
            .map(|s| s.trim().to_string()),
        used_memory_mib: p.1,
    }
}

fn discover_gpu(lib: &sys::NvmlLib, index: u32) -> Result<GpuState> {
    let by_index = sym(
        &lib.nvmlDeviceGetHandleByIndex_v2,
        "nvmlDeviceGetHandleByIndex_v2",
    )?;
    let mut handle: sys::nvmlDevice_t = std::ptr::null_mut();
    // SAFETY: an out-pointer to a handle.
    check(
        unsafe { by_index(index, &mut handle) },
        "nvmlDeviceGetHandleByIndex_v2",
    )?;
    let f = sym(&lib.nvmlDeviceGetName, "nvmlDeviceGetName")?;
    // SAFETY (all string queries): a buffer of the given length.
    let name = string(
        "nvmlDeviceGetName",
        sys::NVML_DEVICE_NAME_V2_BUFFER_SIZE,
        |b, n| unsafe { f(handle, b, n) },
    )?;
    let f = sym(&lib.nvmlDeviceGetUUID, "nvmlDeviceGetUUID")?;
    let uuid = string(
        "nvmlDeviceGetUUID",
        sys::NVML_DEVICE_UUID_V2_BUFFER_SIZE,
        |b, n| unsafe { f(handle, b, n) },
    )?;
    let pci_device_id = sym(&lib.nvmlDeviceGetPciInfo_v3, "nvmlDeviceGetPciInfo_v3")
        .ok()
        .and_then(|f| {
            // SAFETY: a zeroed plain-C out-struct.
            let mut pci: sys::nvmlPciInfo_t = unsafe { std::mem::zeroed() };
            (unsafe { f(handle, &mut pci) } == sys::nvmlReturn_enum_NVML_SUCCESS)
                .then(|| format!("0x{:04X}", pci.pciDeviceId >> 16))
        });
    let f = sym(&lib.nvmlDeviceGetMemoryInfo, "nvmlDeviceGetMemoryInfo")?;
    // SAFETY: a zeroed plain-C out-struct.
    let mut mem: sys::nvmlMemory_t = unsafe { std::mem::zeroed() };
    check(unsafe { f(handle, &mut mem) }, "nvmlDeviceGetMemoryInfo")?;
    let clock = |ty: sys::nvmlClockType_t| {
        let f = sym(&lib.nvmlDeviceGetMaxClockInfo, "nvmlDeviceGetMaxClockInfo").ok()?;
        let mut mhz: u32 = 0;
        // SAFETY: an out-pointer to an unsigned int.
        (unsafe { f(handle, ty, &mut mhz) } == sys::nvmlReturn_enum_NVML_SUCCESS).then_some(mhz)
    };
    let f = sym(&lib.nvmlDeviceGetMigMode, "nvmlDeviceGetMigMode")?;
    let (mut current, mut pending) = (0u32, 0u32);
    // SAFETY: out-pointers to unsigned ints.
    let ret = unsafe { f(handle, &mut current, &mut pending) };
    let mig = if ret == sys::nvmlReturn_enum_NVML_ERROR_NOT_SUPPORTED {
        None
    } else {
        check(ret, "nvmlDeviceGetMigMode")?;
        Some(MigMode {
            current: current == 1,
            pending: pending == 1,
        })
    };
    // Processes of the whole GPU; in MIG mode each carries its GI and CI id.
    let procs = processes(lib, handle)?;
    let mut gpu = GpuState {
        index,
        name,
        uuid,
        pci_device_id,
        memory_mib: mem.total / (1024 * 1024),
        // NVML reports SMs only per MIG device; the whole GPU's count comes from CUDA.
        sm_count: None,
        max_sm_clock_mhz: clock(sys::nvmlClockType_enum_NVML_CLOCK_SM),
        max_memory_clock_mhz: clock(sys::nvmlClockType_enum_NVML_CLOCK_MEM),
        mig,
        profiles: Vec::new(),
        gpu_instances: Vec::new(),
        processes: Vec::new(),
    };
    if mig.is_none() {
        gpu.processes = procs.iter().map(process).collect();
        return Ok(gpu);
    }
    gpu.profiles = profiles(lib, handle)?;
    if !gpu.mig_enabled() {
        gpu.processes = procs.iter().map(process).collect();
        return Ok(gpu);
    }
    let uuids = mig_devices(lib, handle)?;
    for prof in &gpu.profiles {
        for gi in gpu_instances(lib, handle, prof.id)? {
            let mut state = gpu_instance(lib, gi)?;
            for ci in &mut state.compute_instances {
                if let Some((uuid, sms)) = uuids.get(&(state.id, ci.id)) {
                    ci.uuid = Some(uuid.clone());
                    ci.sm_count = *sms;
                }
                ci.processes = procs
                    .iter()
                    .filter(|p| p.2 == Some(state.id) && p.3 == Some(ci.id))
                    .map(process)
                    .collect();
            }
            gpu.gpu_instances.push(state);
        }
    }
    gpu.gpu_instances.sort_by_key(|g| g.id);
    Ok(gpu)
}

/// GI profiles with names (v2 info) and legal placements.
fn profiles(lib: &sys::NvmlLib, handle: sys::nvmlDevice_t) -> Result<Vec<GiProfileInfo>> {
    let info_v = sym(
        &lib.nvmlDeviceGetGpuInstanceProfileInfoV,
        "nvmlDeviceGetGpuInstanceProfileInfoV",
    )?;
    let places = sym(
        &lib.nvmlDeviceGetGpuInstancePossiblePlacements_v2,
        "nvmlDeviceGetGpuInstancePossiblePlacements_v2",
    )?;
    let mut out = Vec::new();
    for index in 0..sys::NVML_GPU_INSTANCE_PROFILE_COUNT {
        // SAFETY: a zeroed plain-C struct with its version set as nvml.h's
        // NVML_STRUCT_VERSION(GpuInstanceProfileInfo, 2) defines it.
        let mut info: sys::nvmlGpuInstanceProfileInfo_v2_t = unsafe { std::mem::zeroed() };
        info.version = (size_of::<sys::nvmlGpuInstanceProfileInfo_v2_t>() as u32) | (2 << 24);
        let ret = unsafe { info_v(handle, index, &mut info) };
        if ret == sys::nvmlReturn_enum_NVML_ERROR_NOT_SUPPORTED
            || ret == sys::nvmlReturn_enum_NVML_ERROR_INVALID_ARGUMENT
        {
            continue; // this profile does not exist on this GPU
        }
        check(ret, "nvmlDeviceGetGpuInstanceProfileInfoV")?;
        // SAFETY: NVML writes a NUL-terminated name into the fixed buffer.
        let raw = unsafe { CStr::from_ptr(info.name.as_ptr()) };
        let name = raw
            .to_string_lossy()
            .trim()
            .trim_start_matches("MIG ")
            .to_string();
        // nvml-wrapper 0.13's `possible_placements` always returns an empty list: call
        // nvmlDeviceGetGpuInstancePossiblePlacements_v2 directly, first for the count.
        let mut count: u32 = 0;
        let ret = unsafe { places(handle, info.id, std::ptr::null_mut(), &mut count) };
        check(ret, "nvmlDeviceGetGpuInstancePossiblePlacements_v2 (count)")?;
        let mut buf = vec![sys::nvmlGpuInstancePlacement_t { start: 0, size: 0 }; count as usize];
        let ret = unsafe { places(handle, info.id, buf.as_mut_ptr(), &mut count) };
        check(ret, "nvmlDeviceGetGpuInstancePossiblePlacements_v2")?;
        buf.truncate(count as usize);
        let placement_size = buf.first().map(|p| p.size).unwrap_or(0);
        out.push(GiProfileInfo {
            id: info.id,
            name,
            slice_count: info.sliceCount,
            memory_mib: info.memorySizeMB,
            sm_count: info.multiprocessorCount,
            instance_count: info.instanceCount,
            placements: buf
                .iter()
                .map(|p| u8::try_from(p.start).unwrap_or(u8::MAX))
                .collect(),
            placement_size: u8::try_from(placement_size).unwrap_or(u8::MAX).max(1),
        });
    }
    Ok(out)
}

/// The GPU instances of one profile.
fn gpu_instances(
    lib: &sys::NvmlLib,
    handle: sys::nvmlDevice_t,
    profile_id: u32,
) -> Result<Vec<sys::nvmlGpuInstance_t>> {
    let list = sym(&lib.nvmlDeviceGetGpuInstances, "nvmlDeviceGetGpuInstances")?;
    // At most one GI per memory slice: 8 on every MIG GPU so far; 32 leaves room.
    let mut buf: Vec<sys::nvmlGpuInstance_t> = vec![std::ptr::null_mut(); 32];
    let mut count: u32 = 0;
    let ret = unsafe { list(handle, profile_id, buf.as_mut_ptr(), &mut count) };
    if ret == sys::nvmlReturn_enum_NVML_ERROR_NOT_FOUND {
        return Ok(Vec::new());
    }
    check(ret, "nvmlDeviceGetGpuInstances")?;
    buf.truncate(count as usize);
    Ok(buf)
}

/// One GPU instance with its compute instances (UUIDs and processes filled in later).
fn gpu_instance(lib: &sys::NvmlLib, gi: sys::nvmlGpuInstance_t) -> Result<GpuInstanceState> {
    let get = sym(&lib.nvmlGpuInstanceGetInfo, "nvmlGpuInstanceGetInfo")?;
    let list = sym(
        &lib.nvmlGpuInstanceGetComputeInstances,
        "nvmlGpuInstanceGetComputeInstances",
    )?;
    let ci_info = sym(
        &lib.nvmlComputeInstanceGetInfo_v2,
        "nvmlComputeInstanceGetInfo_v2",
    )?;
    // SAFETY: zeroed plain-C out-structs, filled by NVML.
    let mut info: sys::nvmlGpuInstanceInfo_t = unsafe { std::mem::zeroed() };
    check(unsafe { get(gi, &mut info) }, "nvmlGpuInstanceGetInfo")?;
    let mut cis = Vec::new();
    for ci_profile in 0..sys::NVML_COMPUTE_INSTANCE_PROFILE_COUNT {
        let mut buf: Vec<sys::nvmlComputeInstance_t> = vec![std::ptr::null_mut(); 16];
        let mut count: u32 = 0;
        let ret = unsafe { list(gi, ci_profile, buf.as_mut_ptr(), &mut count) };
        if ret == sys::nvmlReturn_enum_NVML_ERROR_NOT_FOUND
            || ret == sys::nvmlReturn_enum_NVML_ERROR_NOT_SUPPORTED
            || ret == sys::nvmlReturn_enum_NVML_ERROR_INVALID_ARGUMENT
        {
            continue;
        }
        check(ret, "nvmlGpuInstanceGetComputeInstances")?;
        for &ci in &buf[..count as usize] {
            let mut c: sys::nvmlComputeInstanceInfo_t = unsafe { std::mem::zeroed() };
            check(
                unsafe { ci_info(ci, &mut c) },
                "nvmlComputeInstanceGetInfo_v2",
            )?;
            cis.push(ComputeInstanceState {
                id: c.id,
                profile_id: c.profileId,
                slice_count: c.placement.size,
                start: c.placement.start,
                sm_count: None,
                uuid: None,
                processes: Vec::new(),
            });
        }
    }
    cis.sort_by_key(|c| c.id);
    Ok(GpuInstanceState {
        id: info.id,
        profile_id: info.profileId,
        start: u8::try_from(info.placement.start).unwrap_or(u8::MAX),
        size: u8::try_from(info.placement.size).unwrap_or(u8::MAX),
        compute_instances: cis,
    })
}

/// MIG devices by (GI id, CI id): their UUID and SMs.
type MigDevices = BTreeMap<(u32, u32), (String, Option<u32>)>;

/// The MIG devices of a GPU.
fn mig_devices(lib: &sys::NvmlLib, handle: sys::nvmlDevice_t) -> Result<MigDevices> {
    let max_f = sym(
        &lib.nvmlDeviceGetMaxMigDeviceCount,
        "nvmlDeviceGetMaxMigDeviceCount",
    )?;
    let by_index = sym(
        &lib.nvmlDeviceGetMigDeviceHandleByIndex,
        "nvmlDeviceGetMigDeviceHandleByIndex",
    )?;
    let gi_id = sym(
        &lib.nvmlDeviceGetGpuInstanceId,
        "nvmlDeviceGetGpuInstanceId",
    )?;
    let ci_id = sym(
        &lib.nvmlDeviceGetComputeInstanceId,
        "nvmlDeviceGetComputeInstanceId",
    )?;
    let uuid_f = sym(&lib.nvmlDeviceGetUUID, "nvmlDeviceGetUUID")?;
    let attrs = sym(
        &lib.nvmlDeviceGetAttributes_v2,
        "nvmlDeviceGetAttributes_v2",
    )
    .ok();
    let mut max: u32 = 0;
    // SAFETY: an out-pointer to an unsigned int.
    check(
        unsafe { max_f(handle, &mut max) },
        "nvmlDeviceGetMaxMigDeviceCount",
    )?;
    let mut out = BTreeMap::new();
    for i in 0..max {
        let mut h: sys::nvmlDevice_t = std::ptr::null_mut();
        // SAFETY: an out-pointer to a handle.
        let ret = unsafe { by_index(handle, i, &mut h) };
        if ret == sys::nvmlReturn_enum_NVML_ERROR_NOT_FOUND {
            continue; // an unused MIG device slot
        }
        check(ret, "nvmlDeviceGetMigDeviceHandleByIndex")?;
        let (mut g, mut c) = (0u32, 0u32);
        // SAFETY: out-pointers to unsigned ints, on a MIG device handle.
        check(unsafe { gi_id(h, &mut g) }, "nvmlDeviceGetGpuInstanceId")?;
        check(
            unsafe { ci_id(h, &mut c) },
            "nvmlDeviceGetComputeInstanceId",
        )?;
        // SAFETY: a buffer of the given length.
        let uuid = string(
            "nvmlDeviceGetUUID",
            sys::NVML_DEVICE_UUID_V2_BUFFER_SIZE,
            |b, n| unsafe { uuid_f(h, b, n) },
        )?;
        let sms = attrs.and_then(|f| {
            // SAFETY: a zeroed plain-C out-struct.
            let mut a: sys::nvmlDeviceAttributes_t = unsafe { std::mem::zeroed() };
            (unsafe { f(h, &mut a) } == sys::nvmlReturn_enum_NVML_SUCCESS)
                .then_some(a.multiprocessorCount)
        });
        out.insert((g, c), (uuid, sms));
    }
    Ok(out)
}
