import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { SagaInstanceEntity } from './saga-instance.entity';
import type { DeadlineKind, StepStateName } from '../saga-state';

/** One step of one saga. A parallel join is a fact in these rows: every step of the stage SUCCEEDED. */
@Entity({ name: 'saga_steps' })
@Check('saga_steps_state_check', `state IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'COMPENSATING', 'COMPENSATED', 'SKIPPED')`)
@Check('saga_steps_deadline_kind_check', `deadline_kind IN ('reply', 'resend')`)
@Index('saga_steps_deadline_at_idx', ['deadlineAt'], { where: 'deadline_at IS NOT NULL' })
export class SagaStepEntity {
  @PrimaryColumn('uuid', { name: 'saga_id' })
  sagaId!: string;

  @ManyToOne(() => SagaInstanceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'saga_id', foreignKeyConstraintName: 'saga_steps_saga_id_fkey' })
  saga?: SagaInstanceEntity;

  @PrimaryColumn('text')
  name!: string;

  /** Index of the step's stage. */
  @Column('integer')
  position!: number;

  @Column('text')
  state!: StepStateName;

  @Column('integer', { default: 0 })
  attempts!: number;

  @Column('integer', { name: 'compensation_attempts', default: 0 })
  compensationAttempts!: number;

  @Column('boolean', { name: 'may_have_taken_effect', default: false })
  mayHaveTakenEffect!: boolean;

  @Column('timestamptz', { name: 'deadline_at', nullable: true })
  deadlineAt!: Date | null;

  /** `reply`: the reply is due at deadline_at; `resend`: the command is sent again then. */
  @Column('text', { name: 'deadline_kind', nullable: true })
  deadlineKind!: DeadlineKind | null;

  @Column('text', { name: 'last_message_id', nullable: true })
  lastMessageId!: string | null;

  @Column('timestamptz', { name: 'started_at', nullable: true })
  startedAt!: Date | null;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt!: Date | null;

  @Column('text', { nullable: true })
  error!: string | null;
}
