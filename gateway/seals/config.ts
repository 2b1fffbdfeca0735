/** The electronic seal's part of the configuration (SEAL_* variables, gateway/config.ts). */
export interface SealSettings {
  /** The seal's SM2 private key file (SEAL_KEY_FILE); certificate and seal data are written beside it. */
  keyFile: string;
  /** 印章名称, e.g. 某某市政务服务中心电子印章. */
  name: string;
  /** Years a newly made seal and its certificate are valid. */
  validYears: number;
  /** More certificates (PEM files) whose seals the verify endpoint accepts, e.g. departments' seals. */
  trustedCertificateFiles: string[];
}
