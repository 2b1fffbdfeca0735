/**
 * The registry's certificate → the gateway's certificate metadata.
 *
 * Status: `有效` → `valid`; `已撤销` (revoked, e.g. by a court: the marriage never validly
 * existed) → `revoked`; `已注销` (ended by a later divorce: the certificate was valid and is
 * history now) → `cancelled`, which the gateway keeps and shows but never treats as a revocation.
 * Holders: both spouses hold the same certificate number (each their own booklet): the holder
 * asked about first, the other spouse second, so the gateway files it for both.
 */
import type { CertificateMetadata } from '@onewindow/adapter-sdk';
import { parseChineseDate } from '@onewindow/adapter-sdk';
import type { MarriageCertificateWire, RegistrationState } from './protocol.js';

export const MARRIAGE_CERTIFICATE = 'marriage_certificate';

export const statusOfRegistration: Record<RegistrationState, CertificateMetadata['status']> = {
  有效: 'valid',
  已撤销: 'revoked',
  已注销: 'cancelled',
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
    holders: [
      { name: wire.holder.name, identifier: wire.holder.id_number },
      ...(wire.spouse ? [{ name: wire.spouse.name, identifier: wire.spouse.id_number }] : []),
    ],
    issuingAuthority: wire.djjg,
    issueDate: registeredOn,
    validFrom: registeredOn,
    validUntil: null,
    status: statusOfRegistration[wire.djzt],
  };
}
