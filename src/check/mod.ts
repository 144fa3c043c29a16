// Health checks: the public face of src/check/ (see docs/health_checks.md).
//
// The process calls startChecks() once its backends exist and stop() when it
// stops; the stats page reads checkStateOf(server) and calls the admin
// actions. Everything else in the folder is internal.

export {
  type CheckCtx,
  type CheckHooks,
  type CheckLogger,
  CheckManager,
  checkStateOf,
  forceHealth,
  ServerCheck,
  serverReaddressed,
  setChecksEnabled,
  setDrain,
  setMaint,
  setReady,
  setWeight,
  startChecks,
  type StatsCheckState,
  statsCheckState,
} from "./check.ts";
export {
  buildHttpCheckRequest,
  CheckConfigError,
  compileHttpCheck,
  evaluateHttpResponse,
  httpCheckIssues,
  type HttpCheckSpec,
} from "./http_check.ts";
export {
  adminFlagsToString,
  checkFlagsToString,
  type CheckOutcome,
  checkStatusDesc,
  checkStatusName,
  CHK_KIND_HTTP,
  CHK_KIND_TCP,
  HCHK_STATUS_INI,
  HCHK_STATUS_L4CON,
  HCHK_STATUS_L4OK,
  HCHK_STATUS_L4TOUT,
  HCHK_STATUS_L6RSP,
  HCHK_STATUS_L7OKD,
  HCHK_STATUS_L7RSP,
  HCHK_STATUS_L7STS,
  HCHK_STATUS_L7TOUT,
  HCHK_STATUS_SOCKERR,
  type ServerCheckView,
  SRV_ADMF_DRAIN,
  SRV_ADMF_MAINT,
} from "./types.ts";
