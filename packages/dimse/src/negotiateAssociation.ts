import { constants } from 'dcmjs-dimse';
import type { association } from 'dcmjs-dimse';
import {
  VERIFICATION_SOP_CLASS,
  isStorageSopClass,
  pickTransferSyntax,
} from './syntaxes';

const { PresentationContextResult, RejectReason } = constants;

/** Who may associate with us. */
export interface AssociationPolicy {
  aeTitle: string;
  /** Undefined allows any calling AE title. */
  allowedCallingAETitles: ReadonlySet<string> | undefined;
}

/** The decision on an A-ASSOCIATE-RQ. */
export type Negotiation =
  | { phase: 'accepted'; contexts: number; refused: number }
  | {
      phase: 'rejected';
      /** RejectReason of PS3.8 Table 9-21, source "DICOM UL service-user". */
      reason: number;
      why: 'called AE title not recognized' | 'calling AE title not recognized';
    };

/**
 * Decides on an association request and, when it is accepted, sets the
 * result of every proposed presentation context (PS3.8 9.3.3.2): C-ECHO
 * and Storage SOP Classes in a syntax we take are accepted, the rest
 * refused with the reason that applies.
 */
export function negotiateAssociation(
  request: association.Association,
  policy: AssociationPolicy,
): Negotiation {
  if (request.getCalledAeTitle() !== policy.aeTitle) {
    return {
      phase: 'rejected',
      reason: RejectReason.CalledAeNotRecognized,
      why: 'called AE title not recognized',
    };
  }
  const allowed = policy.allowedCallingAETitles;
  if (allowed && !allowed.has(request.getCallingAeTitle())) {
    return {
      phase: 'rejected',
      reason: RejectReason.CallingAeNotRecognized,
      why: 'calling AE title not recognized',
    };
  }
  let contexts = 0;
  let refused = 0;
  for (const { context } of request.getPresentationContexts()) {
    const abstractSyntax = context.getAbstractSyntaxUid();
    if (
      abstractSyntax !== VERIFICATION_SOP_CLASS &&
      !isStorageSopClass(abstractSyntax)
    ) {
      context.setResult(
        PresentationContextResult.RejectAbstractSyntaxNotSupported,
      );
      refused++;
      continue;
    }
    const syntax = pickTransferSyntax(
      abstractSyntax,
      context.getTransferSyntaxUids(),
    );
    if (syntax === undefined) {
      context.setResult(
        PresentationContextResult.RejectTransferSyntaxesNotSupported,
      );
      refused++;
      continue;
    }
    context.setResult(PresentationContextResult.Accept, syntax);
    contexts++;
  }
  return { phase: 'accepted', contexts, refused };
}
