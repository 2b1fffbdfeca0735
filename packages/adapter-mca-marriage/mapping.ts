/**
 * The registry's certificate → the gateway's certificate metadata.
 *
 * Status: `有效` → `valid`; `已撤销` (revoked, e.g. by a court) → `revoked`; `已注销` (ended by a
 * later divorce) → `revoked` for now. TODO(idroute): a divorce is not a revocation — map `已注销`
 * to the `cancelled` status once the certificate model has it (branch `idroute`).
 */
import type { CertificateMetadata } from '@onewindow/adapter-sdk';
import { parseChineseDate } from '@onewindow/adapter-sdk';
import type { MarriageCertificateWire, RegistrationState } from './protocol.js';

export const MARRIAGE_CERTIFICATE = 'marriage_certificate';

export const statusOfRegistration: Record<RegistrationState, CertificateMetadata['status']> = {
  有效: 'valid',
  已撤销: 'revoked',
  // TODO(idroute): `cancelled` (ended by divorce), not `revoked`, when the model has it.
  已注销: 'revoked',
};

/** Throws `WireFormatError` for a date that does not exist. */
export function marriageCertificateMetadata(wire: MarriageCertificateWire): CertificateMetadata {
  const registeredOn = parseChineseDate(wire.djrq);
  return {
    certificateType: MARRIAGE_CERTIFICATE,
    certificateNumber: wire.cert_no,
    // The holder (持证人) is the spouse asked about.
    holderName: wire.holder.name,
    holderIdentifier: wire.holder.id_number,
    // TODO(idroute): the second spouse (wire.spouse: name, id_number) goes here as the certificate's
    // second holder once two-holder certificates exist; today's model names one holder.
    issuingAuthority: wire.djjg,
    issueDate: registeredOn,
    validFrom: registeredOn,
    validUntil: null,
    status: statusOfRegistration[wire.djzt],
  };
}
